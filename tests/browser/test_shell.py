"""Log in as each demo role, see the right home; elder mode; the map; axe-core checks."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, login, screenshot

ROLES = {
    "city": "city_operator",
    "township": "township_officer",
    "community": "community_staff",
    "grid": "grid_worker",
    "grid2": "grid_worker",
    "resident": "resident",
    "property": "property_staff",
}


def test_login_page_is_accessible(page):
    page.goto("/login/")
    assert page.locator("h1").inner_text() == "登录丹阳智慧社区"
    assert_accessible(page, "login")
    screenshot(page, "login")


def test_wrong_password_shows_message(page):
    page.goto("/login/")
    page.fill("#id_username", "grid")
    page.fill("#id_password", "wrong-password")
    page.click("#login-submit")
    assert "密码错误" in page.locator("#login-error").inner_text()


@pytest.mark.parametrize(("username", "home"), ROLES.items())
def test_each_role_lands_on_its_home(page, username, home):
    login(page, username)
    assert page.locator(f'[data-home="{home}"]').count() == 1
    assert_accessible(page, f"home:{username}")
    screenshot(page, f"home-{username}")


def test_resident_home_on_a_phone(mobile_page):
    login(mobile_page, "resident")
    assert mobile_page.locator('[data-home="resident"]').is_visible()
    assert "张网格" in mobile_page.content()
    screenshot(mobile_page, "home-resident-mobile")


def test_elder_mode_toggle_is_remembered(page):
    login(page, "resident")
    assert "elder-mode" not in (page.locator("html").get_attribute("class") or "")
    normal = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.click("#elder-toggle")
    page.wait_for_load_state()
    assert "elder-mode" in page.locator("html").get_attribute("class")
    larger = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert larger > normal * 1.2
    assert_accessible(page, "elder mode")
    screenshot(page, "home-resident-elder")
    page.reload()
    assert "elder-mode" in page.locator("html").get_attribute("class")
    page.click("#elder-toggle")  # back to normal for other tests
    page.wait_for_load_state()
    assert "elder-mode" not in (page.locator("html").get_attribute("class") or "")


def test_map_click_on_grid_shows_its_details(page):
    login(page, "community")
    page.goto("/map/")
    page.wait_for_selector("#map[data-grids-loaded]")
    loaded = int(page.get_attribute("#map", "data-grids-loaded"))
    assert loaded >= 2
    target = page.locator('path[data-grid-code$="001"]').first
    code = target.get_attribute("data-grid-code")
    box = target.bounding_box()
    # Click the polygon's interior: try its centre and a few nearby points.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#map-info-details:not([hidden])")
    shown = page.locator('#map-info-details [data-field="code"]').inner_text()
    assert re.fullmatch(r"\d{15}", shown)
    assert page.locator('#map-info-details [data-field="name"]').inner_text().startswith("第")
    assert page.locator('#map-info-details [data-field="workers"]').inner_text()
    assert shown.startswith(code[:12])
    assert_accessible(page, "map")
    screenshot(page, "map", full_page=False)


def test_region_browser_drill_down(page):
    login(page, "township")
    page.goto("/regions/")
    assert "云阳街道" in page.locator("h1").inner_text()
    page.click("#region-children a:text('丹凤社区')")
    expect(page.locator("h1")).to_contain_text("丹凤社区")
    assert "/regions/321181001001/" in page.url
    page.click("#region-children a:text('第一网格')")
    expect(page.locator("h1")).to_contain_text("第一网格")
    assert "张网格" in page.content()
    assert_accessible(page, "regions")
    screenshot(page, "regions-grid")
