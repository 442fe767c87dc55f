"""Browser tests: Playwright (Python) driving Debian's Chromium against a real Shequ server.

The server runs in its own process on its own database (a temp SQLite file, or a fresh
PostgreSQL database when DATABASE_URL points at PostgreSQL), seeded with the small demo data,
exactly as `make demo` serves it. Without Chromium these tests skip — unless
SHEQU_REQUIRE_BROWSER=1 (set by CI), where a missing browser fails them.
"""

import functools
import os
import subprocess
from pathlib import Path

import pytest

from shequ.demo.processes import web_command, worker_command
from tests.support.browser import PASSWORD
from tests.support.processes import (
    ROOT,
    demo_env,
    running_server,
    scratch_database,
    seeded_demo_site,
    stop,
)

CHROMIUM = os.environ.get("SHEQU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)"
        if os.environ.get("SHEQU_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " — required because SHEQU_REQUIRE_BROWSER=1")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def live_url(tmp_path_factory, chromium_path):
    """Base URL of a Shequ server with the small demo data."""
    tmp = tmp_path_factory.mktemp("browser-server")
    with scratch_database(tmp, "browser") as database_url:
        env = demo_env(
            tmp,
            database_url,
            SHEQU_DEMO_PASSWORD=PASSWORD,
            # Every browser test logs in from 127.0.0.1: a few dozen logins a minute would hit
            # the per-IP login limit (20/min) and fail a login at random. The limits themselves
            # are tested in tests/test_security*.py and against the strict server of
            # test_security_pages.py.
            SHEQU_RATE_LIMIT_ENABLED="0",
        )
        seeded_demo_site(env)
        web = functools.partial(web_command, "127.0.0.1", workers=2, threads=4)
        with running_server(web, env, tmp / "server.log") as server:
            # The task-queue worker runs beside the server, as in `make demo`.
            with open(tmp / "worker.log", "w") as log:
                worker = subprocess.Popen(
                    worker_command(), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
                )
            try:
                yield server.url
            finally:
                stop(worker, timeout=20)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_url):
    context = browser.new_context(
        base_url=live_url, locale="zh-CN", viewport={"width": 1280, "height": 860}
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


@pytest.fixture
def mobile_page(browser, live_url):
    context = browser.new_context(
        base_url=live_url,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
