"""The maps show where one is: the user's own grid and house, estates and buildings with their
names close up, the position from the browser (asked with a button), and names from the data
always as text. Screenshots go to test-artifacts/screenshots/map-*.png."""

import re

from playwright.sync_api import expect

from tests.support.browser import (
    XssField,
    admin_write,
    assert_accessible,
    login,
    new_page,
    screenshot,
)

FLAGSHIP = "321181001001"
GRID_A = FLAGSHIP + "001"
GRID_B = FLAGSHIP + "002"
MARKUP = "<b>粗体</b><img src=x onerror=alert(1)>"
POSITION = {"latitude": 32.0185, "longitude": 119.596, "accuracy": 25}  # inside grid A


def phone_context(browser, live_url, **extra):
    return browser.new_context(
        base_url=live_url,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        **extra,
    )


def open_page(context):
    page = context.new_page()
    page.set_default_timeout(15000)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return page


def set_view(page, selector: str, lat: float, lng: float, zoom: int) -> None:
    page.evaluate(
        "([sel, lat, lng, z]) => document.querySelector(sel).shequMap.setView([lat, lng], z)",
        [selector, lat, lng, zoom],
    )


def hover_shapes(page, selector: str) -> None:
    page.eval_on_selector_all(
        f"{selector} path.leaflet-interactive",
        "els => els.forEach(e => { for (const t of ['mouseover', 'mousemove'])"
        " e.dispatchEvent(new MouseEvent(t, {bubbles: true, clientX: 200, clientY: 200})) })",
    )
    page.wait_for_timeout(300)


def test_a_markup_named_grid_is_shown_as_text_on_every_map(browser, live_url):
    admin = new_page(browser, live_url)
    login(admin, "admin")
    grid = XssField("region.name", f"/admin/geo/region/?q={GRID_A}", GRID_A, "#id_name")
    original = admin_write(admin, grid, MARKUP)
    try:
        for username, path, selector, mobile in [
            ("grid", "/map/", "#map", False),
            ("community", "/map/", "#map", False),
            ("resident", "/cases/report/", "#pick-map", True),
            ("community", "/cases/hotline/", "#pick-map", False),
            ("township", f"/analytics/?region={FLAGSHIP}", "#cockpit-map", False),
        ]:
            context = (
                phone_context(browser, live_url)
                if mobile
                else browser.new_context(base_url=live_url, locale="zh-CN")
            )
            page = open_page(context)
            login(page, username)
            page.goto(path)
            page.wait_for_load_state("networkidle")
            map_el = page.locator(selector)
            if selector == "#cockpit-map":
                expect(map_el).to_have_attribute("data-ready", "1")
            else:
                expect(map_el).to_have_attribute("data-grids-loaded", re.compile(r"[1-9]"))
            hover_shapes(page, selector)
            where = f"{path} as {username}"
            # The name is on the map as literal text (a label or a tooltip) …
            shown = page.locator(f"{selector} .leaflet-tooltip", has_text=MARKUP)
            assert shown.count() >= 1, f"{where}: the markup-named grid's name is not shown"
            # … and none of it became an element, nothing ran.
            assert page.locator(f"{selector} b, {selector} img[src='x']").count() == 0, where
            assert page.locator("img[src='x']").count() == 0, where
            assert page.dialogs == [], f"{where}: a dialog opened: {page.dialogs}"
            if path == "/map/" and username == "grid":
                screenshot(page, "map-markup-grid-name", full_page=False)
            context.close()
    finally:
        admin_write(admin, grid, original)
        admin.context.close()


def test_residents_phone_map_shows_their_grid_house_and_estate(browser, live_url):
    context = phone_context(browser, live_url)
    page = open_page(context)
    login(page, "resident")
    page.goto("/cases/report/")
    pick = page.locator("#pick-map")
    expect(pick).to_have_attribute("data-grids-loaded", re.compile(r"[1-9]"))
    expect(pick).to_have_attribute("data-estates-loaded", re.compile(r"[1-9]"))
    pick.scroll_into_view_if_needed()
    # Their own house (from the registry link) and their grid, highlighted and named.
    home = page.locator("#pick-map [data-home='1']")
    expect(home).to_be_visible()
    expect(home).to_have_text("家")
    expect(page.locator("#pick-map path[data-mine='1']")).to_have_count(1)
    expect(page.locator("#pick-map .map-label--mine")).to_contain_text("第一网格（我的网格）")
    expect(page.locator("#pick-map .map-label--estate").first).to_be_visible()
    assert page.locator("#pick-map path[data-grid-code]").count() > 1  # the neighbours too
    # Only the features of their own grid come to a resident.
    estates = page.locator("#pick-map .map-label--estate").all_inner_texts()
    assert estates == ["春江花园"], estates
    assert_accessible(page, "report map (resident)")
    screenshot(page, "map-resident-report-phone", full_page=False)
    # Tapping the house picks it as the location.
    home.click()
    expect(page.locator("#pin-status")).to_contain_text("已选择位置：")
    assert page.input_value("#id_lat") and page.input_value("#id_lng")
    context.close()


def test_buildings_show_as_markers_with_names_close_up(page):
    login(page, "community")
    page.goto("/map/")
    map_el = page.locator("#map")
    expect(map_el).to_have_attribute("data-estates-loaded", re.compile(r"[1-9]"))
    screenshot(page, "map-community", full_page=False)
    labels = page.locator("#map .map-label--estate")
    assert labels.count() >= 2  # the community's estates, named
    # Close up on grid B: its buildings, each with its name.
    set_view(page, "#map", 32.0228, 119.609, 17)
    expect(map_el).to_have_attribute("data-buildings-loaded", re.compile(r"[1-9]"))
    markers = page.locator("#map path[data-building]")
    assert markers.count() >= 1
    expect(page.locator("#map .map-label--building").first).to_be_visible()
    assert re.search(r"幢|号", page.locator("#map .map-label--building").first.inner_text())
    screenshot(page, "map-buildings-close-up", full_page=False)
    frame = map_el.bounding_box()

    def inside(box):
        return (
            box
            and frame["x"] < box["x"] + box["width"] / 2 < frame["x"] + frame["width"]
            and frame["y"] < box["y"] + box["height"] / 2 < frame["y"] + frame["height"]
        )

    visible = next(m for m in markers.all() if inside(m.bounding_box()))
    code = visible.get_attribute("data-building")
    visible.click()
    details = page.locator("#map-building-details")
    expect(details).to_be_visible()
    expect(details.locator('[data-field="code"]')).to_have_text(code)
    expect(page.locator("#map-building-link")).to_be_visible()
    page.click("#map-building-link")
    page.wait_for_url(re.compile(r"/people/buildings/\d+/$"))


def test_a_grid_workers_map_is_fitted_to_their_grid(browser, live_url):
    for username, code in (("grid", GRID_A), ("grid2", GRID_B)):
        context = browser.new_context(
            base_url=live_url, locale="zh-CN", viewport={"width": 1280, "height": 860}
        )
        page = open_page(context)
        login(page, username)
        page.goto("/map/")
        expect(page.locator("#map")).to_have_attribute("data-grids-loaded", re.compile(r"\d"))
        grid = page.locator(f"#map path[data-grid-code='{code}']")
        expect(grid).to_have_attribute("data-mine", "1")
        box = grid.bounding_box()
        frame = page.locator("#map").bounding_box()
        assert box["x"] >= frame["x"] - 1 and box["y"] >= frame["y"] - 1
        assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
        assert box["y"] + box["height"] <= frame["y"] + frame["height"] + 1
        # A useful zoom: the grid fills most of the map one way or the other.
        assert box["width"] > 0.7 * frame["width"] or box["height"] > 0.7 * frame["height"]
        assert page.evaluate("document.querySelector('#map').shequMap.getZoom()") >= 14
        expect(page.locator("#map .map-label--mine")).to_be_visible()
        if username == "grid":
            screenshot(page, "map-grid-worker", full_page=False)
        context.close()


def test_geolocation_on_request_places_the_position_marker(browser, live_url):
    context = phone_context(browser, live_url, geolocation=POSITION, permissions=["geolocation"])
    page = open_page(context)
    login(page, "resident")
    page.goto("/cases/report/")
    expect(page.locator("#pick-map")).to_have_attribute("data-grids-loaded", re.compile(r"\d"))
    # Never asked on page load: no position until the button is pressed.
    assert page.locator("#pick-map [data-me]").count() == 0
    assert page.input_value("#id_lat") == ""
    page.click("#use-location")
    expect(page.locator("#pick-map")).to_have_attribute("data-located", "32.01850,119.59600")
    expect(page.locator("#pick-map path[data-me='1']")).to_have_count(1)
    assert page.input_value("#id_lat") == "32.018500"
    assert page.input_value("#id_lng") == "119.596000"
    expect(page.locator("#pin-status")).to_contain_text("已选择位置")
    page.locator("#pick-map").scroll_into_view_if_needed()
    screenshot(page, "map-report-my-position-phone", full_page=False)
    context.close()

    context = browser.new_context(
        base_url=live_url, locale="zh-CN", geolocation=POSITION, permissions=["geolocation"]
    )
    page = open_page(context)
    login(page, "grid")
    page.goto("/map/")
    expect(page.locator("#map")).to_have_attribute("data-grids-loaded", re.compile(r"\d"))
    page.click("#show-location")
    expect(page.locator("#location-status")).to_contain_text(
        "已在地图上标出您的位置（精度约 25 米）"
    )
    expect(page.locator("#map path[data-me='1']")).to_have_count(1)
    context.close()


def test_a_refused_position_is_explained_in_chinese(page):
    login(page, "grid")
    page.goto("/map/")
    expect(page.locator("#map")).to_have_attribute("data-grids-loaded", re.compile(r"\d"))
    page.click("#show-location")  # no permission granted in this context
    expect(page.locator("#location-status")).to_contain_text("您没有允许获取位置")
    expect(page.locator("#location-status")).to_have_class(re.compile("map-status--error"))
    assert page.locator("#map path[data-me]").count() == 0
