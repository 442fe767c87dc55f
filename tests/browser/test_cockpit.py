"""The cockpit in Chromium: `city` opens it, drills down township → community → grid → case
list, exports the xlsx (opened with openpyxl, numbers equal to the page) and a chart as PNG;
the 1920×1080 big screen fits one screen (screenshot in test-artifacts/screenshots)."""

import openpyxl
from playwright.sync_api import expect

from tests.support.browser import assert_accessible, login, screenshot


def wait_ready(page) -> None:
    expect(page.locator("#trend-chart")).to_have_attribute("data-ready", "1")
    expect(page.locator("#cockpit-map")).to_have_attribute("data-ready", "1")


def kpi_values(page) -> dict[str, str]:
    return {
        item.get_attribute("data-key"): item.get_attribute("data-value")
        for item in page.locator("#kpis .kpi").all()
    }


def test_city_drills_down_and_exports(page, tmp_path):
    login(page, "city")
    page.goto("/")
    page.locator("main").get_by_role("link", name="驾驶舱").first.click()
    expect(page.locator("h1.cockpit__title")).to_contain_text("治理驾驶舱")
    wait_ready(page)
    assert page.locator("#cockpit-map path.leaflet-interactive").count() > 0
    assert int(kpi_values(page)["reports"]) > 0
    assert_accessible(page, "cockpit")
    screenshot(page, "cockpit-city")

    # township → community → grid
    page.locator("#rank-township tbody a").first.click()
    wait_ready(page)
    township = page.locator("#cockpit").get_attribute("data-region")
    assert len(township) == 9
    page.locator("#rank-community tbody a").first.click()
    wait_ready(page)
    community = page.locator("#cockpit").get_attribute("data-region")
    assert len(community) == 12 and community.startswith(township)
    page.locator("#rank-grid tbody a").first.click()
    wait_ready(page)
    grid = page.locator("#cockpit").get_attribute("data-region")
    assert len(grid) == 15 and grid.startswith(community)
    expect(page.locator("#cases-title")).to_be_visible()
    assert "region=" + grid in page.url  # filters live in the URL
    screenshot(page, "cockpit-grid")

    # xlsx of the current view: its numbers are the page's numbers
    on_page = kpi_values(page)
    with page.expect_download() as download:
        page.click("#export-xlsx")
    path = tmp_path / "cockpit.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    assert "指标说明" in book.sheetnames
    labels = [
        page.locator(f"#kpis .kpi[data-key='{key}'] dt").inner_text().split(" ")[0]
        for key in on_page
    ]
    exported = {row[0]: row[2] for row in book["概览"].iter_rows(min_row=2, values_only=True)}
    for key, label in zip(on_page, labels, strict=True):
        value = exported[label]
        if on_page[key] == "":
            assert value is None, key
        else:
            assert abs(float(on_page[key]) - float(value)) < 1e-9, key

    # a chart as PNG (ECharts getDataURL)
    with page.expect_download() as png:
        page.click("[data-png='trend-chart']")
    png_path = tmp_path / "trend.png"
    png.value.save_as(png_path)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the drill-down ends in the case list of that grid
    page.get_by_role("link", name="在案件查询中打开").click()
    page.wait_for_url(lambda url: "/cases/" in url)
    for code in page.locator(".case-row").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-case-code'))"
    ):
        assert code
    assert "region=" + grid in page.url


def test_big_screen_fits_1920_by_1080(browser, live_url):
    context = browser.new_context(
        base_url=live_url, locale="zh-CN", viewport={"width": 1920, "height": 1080}
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, "city")
    page.goto("/analytics/?screen=big")
    wait_ready(page)
    expect(page.locator(".site-header")).to_be_hidden()
    size = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size[0] <= 1920 and size[1] <= 1080, size
    for panel in ("#cockpit-map", "#trend-chart", "#category-chart", "#rank-township"):
        box = page.locator(panel).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, (panel, box)
        assert box["y"] + box["height"] <= 1080, (panel, box)
    screenshot(page, "cockpit-big-1920x1080", full_page=False)
    context.close()


def test_township_officer_sees_only_its_township(browser, live_url):
    context = browser.new_context(base_url=live_url, locale="zh-CN")
    page = context.new_page()
    login(page, "township")
    page.goto("/analytics/")
    wait_ready(page)
    region = page.locator("#cockpit").get_attribute("data-region")
    assert len(region) == 9
    response = page.goto("/analytics/?region=321181002")
    assert response.status == 404
    context.close()
