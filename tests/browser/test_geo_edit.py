"""Editing buildings and houses from the building's room grid (issue 21.5), in a real browser."""

from tests.support.browser import assert_accessible, login, screenshot


def _first_building_link(page):
    page.goto("/regions/")
    # the grid worker's browser opens on their grid; its buildings are the entry point
    link = page.locator("#grid-buildings a").first
    return link


def test_grid_worker_adds_a_room_from_the_room_grid(page):
    login(page, "grid")
    link = _first_building_link(page)
    link.click()
    page.wait_for_load_state()
    assert page.locator("h2", has_text="楼栋房屋网格").count() == 1
    grid = page.locator("#room-grid")
    floors = grid.locator("tbody tr").count()
    assert floors >= 1
    assert_accessible(page, "room grid")
    screenshot(page, "geo-room-grid")
    cell = grid.locator("td[data-floor='1'][data-unit='1']")
    cell.locator("a.room-add").click()
    page.wait_for_load_state()
    assert page.locator("#id_unit").input_value() == "1"
    assert page.locator("#id_floor").input_value() == "1"
    page.fill("#id_room", "1A9")
    assert_accessible(page, "house form")
    page.click("#geo-save")
    page.wait_for_load_state()
    assert "已新建房屋" in page.content()
    assert page.locator("#room-grid td[data-floor='1'][data-unit='1']", has_text="1A9").count() == 1


def test_bad_input_shows_chinese_errors(page):
    login(page, "grid")
    _first_building_link(page).click()
    page.wait_for_load_state()
    page.click("#building-edit")
    page.wait_for_load_state()
    page.fill("#id_floors", "1")  # rooms above floor 1 exist
    page.fill("#id_address", "")
    page.click("#geo-save")
    page.wait_for_load_state()
    errors = page.locator(".errorlist").all_inner_texts()
    assert any("不能减少层数" in e or "必填" in e or "请填写" in e for e in errors), errors
    screenshot(page, "geo-building-errors")


def test_grid_worker_cannot_open_another_grids_building(page, live_url):
    login(page, "grid2")
    href = _first_building_link(page).get_attribute("href")
    page.context.clear_cookies()
    login(page, "grid")
    response = page.goto(href + "edit/")
    assert response.status == 404
