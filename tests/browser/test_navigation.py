"""Navigation by role (issue 21.5): grouped menus, nothing cut off at 1,280 and 1,440 px, and no
raw admin for grid workers and property staff."""

import pytest

from tests.support.browser import assert_accessible, login, screenshot

ROLES = [
    "admin",
    "city",
    "township",
    "community",
    "grid",
    "grid2",
    "resident",
    "property",
    "auditor",
]
WIDTHS = [1280, 1440]

# Measures the top navigation: the bar must not scroll, and every top-level item (a link or a
# menu heading) must lie wholly inside the window and on one row.
MEASURE_BAR = """() => {
  const nav = document.querySelector('.site-nav');
  const list = nav.querySelector('.site-nav__list');
  const width = document.documentElement.clientWidth;
  const items = [...list.children].map((li) => {
    const el = li.querySelector(':scope > a, :scope > details > summary');
    const box = el.getBoundingClientRect();
    return {text: el.textContent.trim(), left: box.left, right: box.right, top: box.top,
            width: box.width, scrollWidth: el.scrollWidth, clientWidth: el.clientWidth};
  });
  return {
    navScroll: nav.scrollWidth, navClient: nav.clientWidth,
    listScroll: list.scrollWidth, listClient: list.clientWidth,
    pageScroll: document.documentElement.scrollWidth, width, items,
  };
}"""

MEASURE_MENU = """(details) => {
  const width = document.documentElement.clientWidth;
  const height = document.documentElement.clientHeight;
  return [...details.querySelectorAll('.nav-group__menu a')].map((a) => {
    const box = a.getBoundingClientRect();
    return {text: a.textContent.trim(), left: box.left, right: box.right, bottom: box.bottom,
            visible: box.width > 0 && box.height > 0, width, height,
            clipped: a.scrollWidth > a.clientWidth + 1};
  });
}"""


def _assert_bar_fits(bar: dict, where: str) -> None:
    assert bar["navScroll"] <= bar["navClient"], where
    assert bar["listScroll"] <= bar["listClient"], where
    assert bar["pageScroll"] <= bar["width"], f"{where}: the page scrolls sideways"
    for item in bar["items"]:
        assert item["left"] >= 0 and item["right"] <= bar["width"], f"{where}: {item}"
        assert item["width"] > 0 and item["scrollWidth"] <= item["clientWidth"] + 1, (
            f"{where}: {item}"
        )


@pytest.mark.parametrize("username", ROLES)
def test_nothing_in_the_nav_is_cut_off(page, username):
    login(page, username)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/")
        where = f"{username}@{width}"
        bar = page.evaluate(MEASURE_BAR)
        assert len(bar["items"]) >= 2, where
        _assert_bar_fits(bar, where)
        assert len({round(item["top"]) for item in bar["items"]}) == 1, f"{where}: wraps"
        groups = page.locator("[data-nav-group]")
        for i in range(groups.count()):
            group = groups.nth(i)
            group.locator("summary").click()
            assert group.get_attribute("open") is not None
            for link in group.evaluate(MEASURE_MENU):
                assert link["visible"], f"{where}: {link}"
                assert link["left"] >= 0 and link["right"] <= link["width"], f"{where}: {link}"
                assert not link["clipped"], f"{where}: {link}"
            if i == 0 and width == WIDTHS[0]:
                screenshot(page, f"nav-{username}-open", full_page=False)
        # one menu open at a time; Escape closes it
        page.wait_for_function(
            "document.querySelectorAll('[data-nav-group][open]').length <= 1", timeout=5000
        )
        page.keyboard.press("Escape")
        page.wait_for_function(
            "document.querySelectorAll('[data-nav-group][open]').length === 0", timeout=5000
        )


@pytest.mark.parametrize("username", ["city", "community"])
def test_nav_fits_in_elder_mode_too(page, username):
    login(page, username)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#elder-toggle")
    page.wait_for_load_state()
    bar = page.evaluate(MEASURE_BAR)
    _assert_bar_fits(bar, f"{username}@1280 elder")  # may wrap to two rows, never cut off
    screenshot(page, f"nav-{username}-elder", full_page=False)
    page.click("#elder-toggle")


def test_menu_opens_with_the_keyboard_and_is_accessible(page):
    login(page, "city")
    page.goto("/")
    summary = page.locator("[data-nav-group] summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("[data-nav-group][open]").count() == 1
    assert_accessible(page, "nav menu open")
    page.keyboard.press("Escape")
    assert page.locator("[data-nav-group][open]").count() == 0


def test_current_page_marks_its_group(page):
    login(page, "community")
    page.goto("/people/")
    current = page.locator(".site-nav summary.is-current, .site-nav a[aria-current='page']")
    assert current.count() >= 1


@pytest.mark.parametrize("username", ["grid", "property"])
def test_field_roles_never_see_the_admin(page, username):
    login(page, username)
    page.goto("/")
    assert page.locator('a[href="/admin/"]').count() == 0
    page.goto("/admin/")
    assert page.url.rstrip("/").endswith(page.url.split("/")[2])  # back on the home page
    assert "管理后台仅供管理员使用" in page.content()
    assert "配置与数据管理" not in page.content()


def test_auditor_opens_the_audit_log_from_the_menu(page):
    login(page, "auditor")
    page.goto("/")
    link = page.locator(".site-nav a[href='/audit/']")
    if not link.is_visible():
        page.locator("[data-nav-group]", has=page.locator("a[href='/audit/']")).locator(
            "summary"
        ).click()
    link.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "审计日志"
    groups = page.locator("#id_action optgroup")
    assert groups.count() >= 5
    assert page.locator("#id_action option", has_text="授予荣誉积分").count() == 1
    table = page.locator("#audit-table").inner_text()
    assert "people." not in table and "accounts." not in table
    screenshot(page, "audit-log")
