"""The security pages in a browser: second-factor setup and login, the lockout message, and
the operators' background-task page. These run against their own server started with the
production rule SHEQU_REQUIRE_TOTP=1 (the shared demo server does not require TOTP)."""

import functools
import re

import pytest

from shequ.accounts import totp
from shequ.demo.processes import web_command
from tests.support.browser import PASSWORD, assert_accessible, screenshot
from tests.support.processes import demo_env, running_server, scratch_database, seeded_demo_site


@pytest.fixture(scope="module")
def strict_url(tmp_path_factory, chromium_path):
    tmp = tmp_path_factory.mktemp("strict-server")
    # Like the shared server's database, under another name (never the shared one).
    with scratch_database(tmp, "strict") as database_url:
        env = demo_env(tmp, database_url, SHEQU_DEMO_PASSWORD=PASSWORD, SHEQU_REQUIRE_TOTP="1")
        seeded_demo_site(env)
        web = functools.partial(web_command, "127.0.0.1", workers=1, threads=4)
        with running_server(web, env, tmp / "server.log") as server:
            yield server.url


@pytest.fixture
def strict_page(browser, strict_url):
    context = browser.new_context(base_url=strict_url, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def password_step(page, username, password=PASSWORD):
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-submit")
    page.wait_for_load_state()


def test_second_factor_setup_then_login(strict_page, browser, strict_url):
    page = strict_page
    password_step(page, "admin")
    assert page.url.endswith("/login/totp/setup/")
    assert_accessible(page, "totp setup")
    screenshot(page, "totp-setup")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("#id_code", "000000")
    page.click("#totp-submit")
    assert "验证码不正确" in page.locator("#totp-error").inner_text()
    page.fill("#id_code", totp.code_at(secret, totp.current_step()))
    page.click("#totp-submit")
    page.wait_for_url(re.compile(r"/$"))
    # The background-task page for operators.
    page.goto("/ops/tasks/")
    assert page.locator("h1").inner_text() == "后台任务"
    assert_accessible(page, "ops tasks")
    screenshot(page, "ops-tasks")
    # A new session: password, then the code step.
    other = browser.new_context(base_url=strict_url, locale="zh-CN").new_page()
    password_step(other, "admin")
    assert other.url.endswith("/login/totp/")
    assert_accessible(other, "totp verify")
    screenshot(other, "totp-verify")
    step = totp.current_step() + 1  # the current step's code was just used
    other.fill("#id_code", totp.code_at(secret, step))
    other.click("#totp-submit")
    other.wait_for_url(re.compile(r"/$"))
    other.context.close()


def test_lockout_message(strict_page):
    page = strict_page
    for _ in range(5):
        password_step(page, "auditor", "wrong-password")
    message = page.locator("#login-locked").inner_text()
    assert "登录失败次数过多" in message and "15 分钟" in message
    assert_accessible(page, "lockout")
    screenshot(page, "login-locked")
