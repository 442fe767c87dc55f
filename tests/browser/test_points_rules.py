"""Points rules and recognition in Chromium: the store's confirm dialog states the total for the
chosen quantity, store items have real pictures, 志愿星级 shows one's own level and units (no
ranking of people), the old 志愿排行 address redirects, and the site has a favicon."""

from playwright.sync_api import expect

from tests.support.browser import assert_accessible, login, screenshot


def test_confirm_dialog_names_the_total_for_the_quantity(mobile_page):
    page = mobile_page
    login(page, "resident")
    page.goto("/points/store/")
    card = page.locator(".item-card").filter(has=page.locator("form")).first
    price = int(card.locator("form").get_attribute("data-price"))
    name = card.locator("h2").inner_text()
    card.locator("input.qty").fill("2")
    messages = []

    def dismiss(dialog):
        messages.append(dialog.message)
        dialog.dismiss()  # no order is placed

    page.on("dialog", dismiss)
    orders_before = page.request.get("/api/v1/points/orders").json()
    card.locator("button[type=submit]").click()
    page.wait_for_timeout(300)
    assert messages == [f"确定用 {price * 2} 积分兑换 2 件“{name}”吗？"]
    assert page.request.get("/api/v1/points/orders").json() == orders_before


def test_store_items_have_pictures(mobile_page):
    page = mobile_page
    login(page, "resident")
    page.goto("/points/store/")
    images = page.locator("img.item-photo")
    assert images.count() == page.locator(".item-card").count() > 0
    images.first.scroll_into_view_if_needed()
    expect(images.first).to_be_visible()
    widths = page.eval_on_selector_all(
        "img.item-photo", "els => els.slice(0, 4).map(e => e.complete && e.naturalWidth)"
    )
    assert all(w and w > 100 for w in widths), widths
    screenshot(page, "points-store-pictures")


def test_recognition_for_a_resident_and_for_staff(mobile_page, page):
    login(mobile_page, "resident")
    mobile_page.goto("/points/leaderboard/")  # an old bookmark
    assert mobile_page.url.endswith("/points/recognition/")
    expect(mobile_page.locator("#my-star")).to_be_visible()
    expect(mobile_page.locator("#units tbody tr").first).to_be_visible()
    assert mobile_page.locator("text=排行").count() == 0
    assert_accessible(mobile_page, "recognition (resident)")
    screenshot(mobile_page, "points-recognition-resident")

    login(page, "city")
    page.goto("/points/recognition/")
    rows = page.locator("#units tbody tr")
    assert rows.count() >= 60  # every community and village of the city
    assert page.locator("#my-star").count() == 0
    codes = rows.evaluate_all("rs => rs.map(r => r.dataset.unit)")
    assert codes == sorted(codes)  # by code, not by points
    assert_accessible(page, "recognition (city)")
    screenshot(page, "points-recognition-city")


def test_favicon(page):
    response = page.request.get("/favicon.ico")
    assert response.status == 200 and response.headers["content-type"] == "image/x-icon"
    login(page, "community")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert page.request.get(href).status == 200
