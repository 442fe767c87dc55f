"""Helpers for the browser tests (tests/browser/): log in through the form, screenshots,
axe-core checks, a page with dialog capture, and editing a text field through the admin (the
XSS and map tests). The fixtures (the shared server, Chromium, pages) are in
tests/browser/conftest.py."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

from tests.support.processes import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "shequ-demo"


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
    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"{context}: " + "; ".join(bad)


@dataclass
class View:
    persona: str | None  # None = anonymous
    path: str
    action: Callable | None = None
    shows_text: bool = True  # the payload must be visible as text (proves the view shows it)


@dataclass
class XssField:
    name: str
    changelist: str  # admin search URL that finds the object
    link: str | None  # text of the link to the object's change form (None: first result)
    input: str  # the form field
    views: list[View] = field(default_factory=list)


def new_page(browser, live_url):
    context = browser.new_context(base_url=live_url, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return page


def admin_write(page, xss_field: XssField, value: str) -> str:
    """Set the field through the admin; return the value it had."""
    page.goto(xss_field.changelist)
    if xss_field.link is None:
        page.locator("#result_list tbody th a").first.click()
    else:
        page.get_by_role("link", name=xss_field.link, exact=True).first.click()
    page.wait_for_selector(xss_field.input)
    old = page.input_value(xss_field.input)
    page.fill(xss_field.input, value)
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert page.locator(".errornote, .errorlist").count() == 0, page.content()[:2000]
    return old
