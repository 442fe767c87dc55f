"""Browser tests: Playwright (Python) driving Debian's Chromium against a real Shequ server.

The server runs in its own process on its own database (a temp SQLite file, or a fresh
PostgreSQL database when DATABASE_URL points at PostgreSQL), seeded with the small demo data,
exactly as `make demo` serves it. Without Chromium these tests skip — unless
SHEQU_REQUIRE_BROWSER=1 (set by CI), where a missing browser fails them.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SHEQU_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "shequ-demo"
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _browser_database(tmp: Path) -> tuple[str, callable]:
    """A database URL for the server, and a function that removes it afterwards."""
    outer = os.environ.get("DATABASE_URL", "")
    if not outer.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp}/browser.sqlite3", lambda: None
    import psycopg

    parts = urlsplit(outer)
    name = f"{parts.path.lstrip('/')}_browser_{os.getpid()}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))

    def run(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}"')
    run(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), lambda: run(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    )


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
    database_url, drop = _browser_database(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    env.update(
        SHEQU_ENV="demo",
        SHEQU_VAR_DIR=str(tmp),
        DATABASE_URL=database_url,
        SHEQU_DEMO_PASSWORD=PASSWORD,
        PYTHONUNBUFFERED="1",
        # Every browser test logs in from 127.0.0.1: a few dozen logins a minute would hit the
        # per-IP login limit (20/min) and fail a login at random. The limits themselves are
        # tested in tests/test_security*.py and against the strict server of
        # test_security_pages.py.
        SHEQU_RATE_LIMIT_ENABLED="0",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    for args in (["migrate", "--no-input", "-v0"], ["seed_demo"]):
        subprocess.run(
            manage + args, env=env, cwd=ROOT, check=True, capture_output=True, timeout=900
        )
    port = _free_port()
    sys.path.insert(0, str(ROOT))
    from shequ.demo.processes import web_command, worker_command

    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed in teardown
    server = subprocess.Popen(
        web_command("127.0.0.1", port, workers=2, threads=4),
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # The task-queue worker runs beside the server, as in `make demo`.
    worker = subprocess.Popen(
        worker_command(), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a loaded 2-core machine boots slowly
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("server did not start: " + (tmp / "server.log").read_text())
        time.sleep(0.3)
    yield url
    for process in (worker, server):
        process.terminate()
        process.wait(timeout=20)
    log.close()
    drop()


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


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-submit")
    # Wait for the redirect itself, not for the next page's load event: on a busy CI machine the
    # home page may take longer than one navigation timeout, which is not what this step checks.
    try:
        page.wait_for_url(lambda url: "/login/" not in url, wait_until="commit", timeout=30000)
    except Exception as error:
        raise AssertionError(
            f"login as {username!r} stayed on {page.url}: {page.inner_text('body')[:500]}"
        ) from error
    page.wait_for_load_state("domcontentloaded", timeout=30000)


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def assert_accessible(page, context: str) -> None:
    """axe-core: no serious or critical violations on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"{context}: " + "; ".join(bad)
