"""The security pages in a browser: second-factor setup and login, the lockout message, and
the operators' background-task page. These run against their own server started with the
production rule SHEQU_REQUIRE_TOTP=1 (the shared demo server does not require TOTP)."""

import os
import re
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import pytest

from shequ.accounts import totp
from tests.browser.conftest import (
    PASSWORD,
    ROOT,
    _free_port,
    assert_accessible,
    screenshot,
)


def _strict_database(tmp):
    """Like the shared server's database, under another name (never the shared one)."""
    outer = os.environ.get("DATABASE_URL", "")
    if not outer.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp}/strict.sqlite3", lambda: None
    import psycopg

    parts = urlsplit(outer)
    name = f"{parts.path.lstrip('/')}_strict_{os.getpid()}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))

    def run(sql):
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), lambda: run(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    )


@pytest.fixture(scope="module")
def strict_url(tmp_path_factory, chromium_path):
    tmp = tmp_path_factory.mktemp("strict-server")
    database_url, drop = _strict_database(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    env.update(
        SHEQU_ENV="demo",
        SHEQU_VAR_DIR=str(tmp),
        DATABASE_URL=database_url,
        SHEQU_DEMO_PASSWORD=PASSWORD,
        SHEQU_REQUIRE_TOTP="1",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    for args in (["migrate", "--no-input", "-v0"], ["seed_demo"]):
        subprocess.run(manage + args, env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    from shequ.demo.processes import web_command

    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        web_command("127.0.0.1", port, workers=1, threads=4),
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=20)
    log.close()
    drop()


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
