"""The /open311/ page in Chromium (Chinese and English, accessible, the demo key shown in demo
mode), and text submitted through Open311 rendering inert on the staff case pages."""

import json
import urllib.request
from urllib.parse import urlencode

import pytest

from tests.support.browser import assert_accessible, login, screenshot

DEMO_KEY = "demo-open311-key"
PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def test_open311_page_in_chinese(page):
    page.goto("/open311/")
    assert page.locator("h1").inner_text() == "Open311 GeoReport v2 接口"
    assert page.locator("#open311-demo-key").inner_text() == DEMO_KEY
    examples = page.locator("pre.open311-curl")
    assert examples.count() >= 10
    assert "requests.json" in examples.nth(3).inner_text()
    assert page.locator("#open311-status-table tbody tr").count() == 8
    assert_accessible(page, "/open311/")
    path = screenshot(page, "open311-page-zh")
    assert path.exists()


def test_open311_page_in_english(page):
    page.goto("/open311/")
    page.select_option("#language-select", "en")
    page.locator(".lang-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Open311 GeoReport v2 endpoint"
    assert page.get_by_role("heading", name="Examples").count() == 1
    assert_accessible(page, "/open311/ (en)")
    screenshot(page, "open311-page-en")


def test_open311_page_on_a_phone(mobile_page):
    mobile_page.goto("/open311/")
    width = mobile_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways ({width}px)"
    screenshot(mobile_page, "open311-page-mobile")


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror"])
def test_open311_text_renders_inert_on_staff_pages(page, live_url, payload):
    form = {
        "api_key": DEMO_KEY,
        "service_code": "0102",
        "lat": "32.0",
        "long": "119.58",
        "address_string": f"路口 {payload}",
        "description": f"路面脏 {payload}",
    }
    request = urllib.request.Request(
        live_url + "/open311/v2/requests.json", data=urlencode(form).encode()
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        code = json.loads(response.read())[0]["service_request_id"]
    login(page, "city")
    page.goto(f"/cases/?q={code}")
    page.locator(f"a:has-text('{code}')").first.click()
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert f"路面脏 {payload}" in body and f"路口 {payload}" in body
    assert page.dialogs == []
    assert page.locator('img[src="x"]').count() == 0
    assert not page.evaluate("[...document.scripts].some(s => s.textContent.includes('alert(1)'))")
    page.goto(f"/open311/v2/requests/{code}.xml")
    assert page.dialogs == [] and page.locator('img[src="x"]').count() == 0
