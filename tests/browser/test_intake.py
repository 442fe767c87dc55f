"""随手拍 and 热线登记 in Chromium (issue 21.1): submitted empty, with only an address, and with
a point — the 随手拍 on a phone, its photo surviving the failed submit; then the loop closed
with the resident on a phone (issue 21.3): the closure notification with the after-photo,
opened, rated."""

import io
import json
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, login, screenshot


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "scene.jpg"
    image = Image.new("RGB", (640, 480), (90, 150, 90))
    for x in range(200, 420):
        for y in range(200, 300):
            image.putpixel((x, y), (130, 90, 40))
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


def typed_address(page) -> str:
    """A 小区 + 幢 address of a building the user's map shows (from the features endpoint)."""
    config = json.loads(page.locator("#map-config").text_content())
    (south, west), (north, east) = config["bounds"]
    data = page.request.get(
        f"/api/v1/geo/map/features?bbox={west},{south},{east},{north}&zoom=18"
    ).json()
    estates = {e["id"]: e["name"] for e in data["estates"] if e["kind"] == "estate"}
    for building in data["buildings"]:
        if building["estate"] in estates and building["name"].endswith("幢"):
            return f"{estates[building['estate']]}{building['name']}"
    raise AssertionError("no estate building on the user's map")


def test_report_on_a_phone_empty_address_only_and_point(browser, live_url, photo_file):
    context, page = new_page(browser, live_url, "resident", mobile=True)
    page.goto("/cases/report/")
    expect(page.locator("#pick-map")).to_have_attribute("data-grids-loaded", re.compile(r"\d+"))

    # 1. Empty: field errors in Chinese, no 500.
    page.click("#report-submit")
    expect(page.locator("#report-errors")).to_be_visible()
    expect(page.locator("#location-error")).to_contain_text("请在地图上点选问题位置")
    expect(page.locator("main")).to_contain_text("请填写问题描述")

    # 2. Text and photo, no location: the error, and both kept (the photo as a thumbnail).
    page.fill("#category-search", "暴露垃圾")
    expect(page.locator("#id_category")).to_have_value("0101")
    page.select_option("#id_attr_amount", "v2")
    page.set_input_files("#id_photos", str(photo_file))
    page.fill("#id_description", "浏览器测试：单元门口有垃圾")
    page.click("#report-submit")
    expect(page.locator("#location-error")).to_be_visible()
    expect(page.locator("#id_description")).to_have_value("浏览器测试：单元门口有垃圾")
    expect(page.locator("#draft-photos img")).to_have_count(1)
    assert_accessible(page, "report form with errors (phone)")
    screenshot(page, "intake-report-errors-mobile")

    # 3. Only an address typed: located, the kept photo attached without uploading again.
    page.fill("#id_address", typed_address(page))
    page.click("#report-submit")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    expect(page.locator("#timeline img")).to_have_count(1)
    screenshot(page, "intake-report-address-only-mobile")

    # 4. With a point on the map.
    page.goto("/cases/report/")
    expect(page.locator("#pick-map")).to_have_attribute("data-grids-loaded", re.compile(r"\d+"))
    page.fill("#category-search", "暴露垃圾")
    page.select_option("#id_attr_amount", "v2")
    page.locator("#pick-map").click()
    expect(page.locator("#pin-status")).to_contain_text("已选择位置")
    page.set_input_files("#id_photos", str(photo_file))
    page.fill("#id_description", "浏览器测试：地图点选")
    page.click("#report-submit")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    context.close()


def test_hotline_empty_address_only_and_point(browser, live_url):
    context, page = new_page(browser, live_url, "community")
    page.goto("/cases/hotline/")
    expect(page.locator("#pick-map")).to_have_attribute("data-grids-loaded", re.compile(r"\d+"))
    page.click("#hotline-submit")
    expect(page.locator("#hotline-errors")).to_be_visible()
    expect(page.locator("#location-error")).to_contain_text("请填写地点")

    address = typed_address(page)
    page.fill("#id_source_ref", "12345-INTAKE-1")
    page.fill("#id_contact_name", "李先生")
    page.select_option("#id_category", "0202")
    page.fill("#id_description", "来电：楼道灯不亮")
    page.fill("#id_address", "不存在的小区")
    page.click("#hotline-submit")
    expect(page.locator("#address-error")).to_contain_text("未能根据")
    expect(page.locator("#id_source_ref")).to_have_value("12345-INTAKE-1")
    expect(page.locator("#id_description")).to_have_value("来电：楼道灯不亮")
    assert_accessible(page, "hotline with errors")
    screenshot(page, "intake-hotline-errors")
    page.fill("#id_address", address + "2单元")
    page.click("#hotline-submit")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))

    page.goto("/cases/hotline/")
    expect(page.locator("#pick-map")).to_have_attribute("data-grids-loaded", re.compile(r"\d+"))
    page.fill("#id_source_ref", "12345-INTAKE-2")
    page.select_option("#id_category", "0202")
    page.locator("#pick-map").click()
    page.fill("#id_description", "来电：路灯不亮（地图点选）")
    page.click("#hotline-submit")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    context.close()


def test_resident_sees_the_closure_notification_and_rates(browser, live_url, photo_file):
    context, page = new_page(browser, live_url, "resident", mobile=True)
    page.goto("/cases/report/")
    expect(page.locator("#pick-map")).to_have_attribute("data-grids-loaded", re.compile(r"\d+"))
    page.fill("#category-search", "暴露垃圾")
    page.select_option("#id_attr_amount", "v2")
    page.locator("#pick-map").click()
    page.set_input_files("#id_photos", str(photo_file))
    page.fill("#id_description", "浏览器测试：闭环通知")
    page.click("#report-submit")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case_url = page.url.replace(live_url, "")
    context.close()

    context, page = new_page(browser, live_url, "grid")
    page.goto(case_url)
    page.click("#action-accept")
    page.fill("#handle-note", "已清运，地面已冲洗")
    page.set_input_files("#handle-photos", str(photo_file))
    page.click("#action-handle")
    expect(page.locator("#case-status")).to_have_text("待核查")
    context.close()

    context, page = new_page(browser, live_url, "community")
    page.goto(case_url)
    page.click("#action-verify")
    expect(page.locator("#case-status")).to_have_text("已结案")
    context.close()

    context, page = new_page(browser, live_url, "resident", mobile=True)
    page.goto("/notifications/")
    item = page.locator(".notification", has_text="已办结").first
    expect(item).to_contain_text("已清运，地面已冲洗")
    image = item.locator("img.notification__image")
    expect(image).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0
    assert_accessible(page, "notifications (phone)")
    screenshot(page, "intake-notification-mobile")
    item.locator("text=去评价").click()
    page.wait_for_url(re.compile(re.escape(case_url)))
    expect(page.locator("#form-rate")).to_be_visible()
    page.check('#form-rate input[value="basic"]')
    page.click("#action-rate")
    expect(page.locator("main")).to_contain_text("基本满意")
    screenshot(page, "intake-rated-mobile")
    context.close()
