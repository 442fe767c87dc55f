"""The closed loop in Chromium: a resident reports with a photo at a map point → `grid` sees it,
accepts, handles with a photo → `community` verifies → the resident rates. Plus the other pages
(inbox, board, verification queue, hotline entry, notifications), each checked with axe-core."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, login, screenshot


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "scene.jpg"
    image = Image.new("RGB", (800, 600), (120, 160, 200))
    for x in range(300, 500):
        for y in range(350, 450):
            image.putpixel((x, y), (90, 70, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def new_page(browser, live_url, username, *, mobile=False):
    options = {"base_url": live_url, "locale": "zh-CN"}
    if mobile:
        options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    else:
        options.update(viewport={"width": 1280, "height": 900})
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, username)
    return context, page


def test_report_handle_verify_rate(browser, live_url, photo_file):
    # 1. The resident reports on a phone: category search, a point on the map, a photo.
    context, page = new_page(browser, live_url, "resident", mobile=True)
    page.goto("/cases/report/")
    expect(page.locator("#pick-map")).to_have_attribute("data-grids-loaded", re.compile(r"\d+"))
    assert_accessible(page, "report form")
    page.fill("#category-search", "暴露垃圾")
    expect(page.locator("#id_category")).to_have_value("0101")
    expect(page.locator("#id_attr_amount")).to_be_visible()
    page.select_option("#id_attr_amount", "v2")
    page.locator("#pick-map").click()  # the centre of the resident's grid
    expect(page.locator("#pin-status")).to_contain_text("已选择位置")
    assert page.input_value("#id_lat") and page.input_value("#id_lng")
    page.set_input_files("#id_photos", str(photo_file))
    page.fill("#id_description", "浏览器测试：楼下绿化带旁有一堆垃圾")
    screenshot(page, "cases-report-filled-mobile")
    page.click("#report-submit")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case_url = page.url.replace(live_url, "")
    expect(page.locator("#case-status")).to_have_text("待接单")
    expect(page.locator("#timeline img")).to_have_count(1)
    code = re.search(r"案件编号 (\w+)", page.locator("main").inner_text()).group(1)
    assert_accessible(page, "case detail (resident)")
    screenshot(page, "cases-detail-reported-mobile")
    context.close()

    # 2. The grid worker sees it in the inbox, accepts and handles it with an "after" photo.
    context, page = new_page(browser, live_url, "grid")
    page.goto("/cases/inbox/")
    row = page.locator(f'[data-case-code="{code}"]')
    expect(row).to_be_visible()
    assert_accessible(page, "inbox")
    screenshot(page, "cases-inbox")
    row.locator("a").click()
    expect(page.locator("#case-map")).to_have_attribute("data-ready", "1")
    page.click("#action-accept")
    expect(page.locator("#case-status")).to_have_text("处置中")
    page.fill("#handle-note", "已联系环卫清运，现场已清理干净")
    page.set_input_files("#handle-photos", str(photo_file))
    screenshot(page, "cases-detail-handling")
    page.click("#action-handle")
    expect(page.locator("#case-status")).to_have_text("待核查")
    expect(page.locator("#timeline img")).to_have_count(2)
    assert page.locator("#action-verify").count() == 0  # not their own work
    context.close()

    # 3. Community staff verify it on site and close it.
    context, page = new_page(browser, live_url, "community")
    page.goto("/cases/verify/")
    expect(page.locator(f'[data-case-code="{code}"]')).to_be_visible()
    assert_accessible(page, "verification queue")
    screenshot(page, "cases-verify-queue")
    page.goto(case_url)
    page.fill("#verify-note", "现场核查，已清理")
    page.click("#action-verify")
    expect(page.locator("#case-status")).to_have_text("已结案")
    assert_accessible(page, "case detail (staff)")
    screenshot(page, "cases-detail-closed-staff")
    context.close()

    # 4. The resident rates the result.
    context, page = new_page(browser, live_url, "resident", mobile=True)
    page.goto("/cases/mine/")
    expect(page.locator(f'[data-case-code="{code}"]')).to_be_visible()
    assert_accessible(page, "my cases")
    screenshot(page, "cases-mine-mobile")
    page.goto(case_url)
    page.check('#form-rate input[value="satisfied"]')
    page.fill("#rate-comment", "处理很及时，谢谢")
    page.click("#action-rate")
    expect(page.locator("main")).to_contain_text("满意度")
    expect(page.locator("#timeline")).to_contain_text("处理很及时")
    screenshot(page, "cases-detail-rated-mobile")
    context.close()


def test_staff_pages(browser, live_url):
    context, page = new_page(browser, live_url, "community")
    page.goto("/cases/board/")
    expect(page.locator("h1")).to_have_text("派遣台")
    assert_accessible(page, "dispatch board")
    page.click("text=全部未结")
    expect(page.locator("#board-cases")).to_be_visible()
    screenshot(page, "cases-board")
    page.goto("/cases/hotline/")
    assert_accessible(page, "hotline entry")
    screenshot(page, "cases-hotline")
    page.goto("/notifications/")
    assert_accessible(page, "notifications")
    context.close()


def test_grid_worker_inbox_on_a_phone_in_elder_mode(browser, live_url):
    context, page = new_page(browser, live_url, "grid", mobile=True)
    page.goto("/cases/inbox/")
    page.click("#elder-toggle")
    page.wait_for_load_state()
    assert "elder-mode" in page.locator("html").get_attribute("class")
    expect(page.locator("#inbox")).to_be_visible()
    assert_accessible(page, "inbox elder mode")
    screenshot(page, "cases-inbox-elder-mobile")
    page.click("#elder-toggle")
    context.close()


def test_hotline_entry_by_staff(browser, live_url):
    context, page = new_page(browser, live_url, "community")
    page.goto("/cases/hotline/")
    page.select_option("#id_channel", "hotline")
    page.fill("#id_source_ref", "12345-BROWSER-1")
    page.fill("#id_contact_name", "王大妈")
    page.fill("#id_contact_phone", "13912345678")
    page.select_option("#id_category", "0202")
    expect(page.locator("#pick-map")).to_have_attribute("data-grids-loaded", re.compile(r"\d+"))
    page.locator("#pick-map").click()
    page.fill("#id_description", "小区门口路灯三天不亮了")
    page.click("#hotline-submit")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    expect(page.locator("main")).to_contain_text("139****5678")
    context.close()
