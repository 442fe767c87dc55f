"""互融互助 in Chromium: the resident claims a task, checks in and out with the publisher's codes,
staff confirm it, the resident redeems an item, staff hand it over against the pickup code —
and at each step the balance on the page equals the ledger (the sum of the entries)."""

import re

from playwright.sync_api import expect

from tests.support.browser import assert_accessible, login, screenshot

TASK = "今日楼道清理"  # seeded: started half an hour ago, open for claims in grid A


def accept_dialogs(page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def page_balance(page) -> int:
    page.goto("/points/me/")
    return int(page.locator('[data-balance="volunteer"]').inner_text())


def ledger_balance(page) -> int:
    body = page.request.get("/api/v1/points/me?limit=500").json()
    assert body["next_before"] is None
    return sum(e["amount"] for e in body["entries"] if e["point_kind"] == "volunteer")


def assert_page_equals_ledger(page) -> int:
    shown = page_balance(page)
    assert shown == ledger_balance(page), "balance on the page differs from the ledger"
    return shown


def test_claim_confirm_redeem_pickup(mobile_page, page):
    resident, staff = mobile_page, page
    accept_dialogs(resident)
    login(resident, "resident")
    start = assert_page_equals_ledger(resident)
    assert start > 0
    assert_accessible(resident, "my points")
    screenshot(resident, "points-me-before")

    # 1. The resident finds the task on the square and claims it.
    resident.goto("/points/")
    assert_accessible(resident, "task square")
    screenshot(resident, "points-square-mobile")
    resident.get_by_role("link", name=TASK).click()
    resident.click("#claim-button")
    expect(resident.locator(".message--success")).to_contain_text("认领成功")
    task_url = resident.url
    screenshot(resident, "points-task-claimed-mobile")

    # 2. The grid worker shows the check-in and check-out codes on site.
    login(staff, "grid")
    staff.goto("/points/manage/")
    staff.get_by_role("link", name=TASK).first.click()
    staff.click("#show-codes")
    checkin = staff.locator("#checkin-code").inner_text().strip()
    checkout = staff.locator("#checkout-code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", checkin) and re.fullmatch(r"\d{6}", checkout)
    assert_accessible(staff, "check-in codes")
    screenshot(staff, "points-codes")

    # 3. The resident checks in and out.
    resident.goto(task_url)
    resident.fill("#id_code", checkin)
    resident.click("#check-button")
    expect(resident.locator("#claim-status")).to_have_text("已签到")
    resident.fill("#id_code", checkout)
    resident.click("#check-button")
    expect(resident.locator("#claim-status")).to_contain_text("已签退")
    assert_accessible(resident, "task detail")
    screenshot(resident, "points-task-checked-out-mobile")
    assert page_balance(resident) == start  # nothing credited before confirmation

    # 4. Staff confirm the completion (信用 points).
    staff.goto("/points/manage/")
    assert_accessible(staff, "task management")
    row = staff.locator("#pending-confirmations tr", has_text=TASK)
    expect(row).to_have_count(1)
    row.get_by_role("button", name="确认完成").click()
    expect(staff.locator(".message--success")).to_contain_text("积分已发放")
    screenshot(staff, "points-manage-tasks")
    earned = assert_page_equals_ledger(resident)
    assert earned == start + 8  # the task pays 8 points

    # 5. The resident redeems an item in the 爱心超市.
    resident.goto("/points/store/")
    assert_accessible(resident, "store")
    screenshot(resident, "points-store-mobile")
    card = resident.locator(".item-card", has_text="香皂")
    price = int(card.locator(".reward").inner_text().split()[0])
    card.get_by_role("button", name="兑换").click()
    expect(resident.locator(".message--success")).to_contain_text("兑换成功")
    order = resident.locator("#orders li").first
    code = order.locator("[data-pickup-code]").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code)
    assert_accessible(resident, "my orders")
    screenshot(resident, "points-orders-mobile")
    assert assert_page_equals_ledger(resident) == earned - price

    # 6. Community staff hand the goods over against the pickup code.
    staff.goto("/login/")
    staff.context.clear_cookies()
    login(staff, "community")
    staff.goto("/points/manage/store/")
    staff.fill("#pickup-code", code)
    staff.click("#pickup-submit")
    expect(staff.locator(".message--success")).to_contain_text("已发放")
    expect(staff.locator("[data-matched]").first).to_have_attribute("data-matched", "yes")
    assert_accessible(staff, "store management")
    screenshot(staff, "points-manage-store")

    resident.goto("/points/orders/")
    expect(resident.locator("#orders li").first.locator("[data-order-status]")).to_have_text(
        "已领取"
    )
    assert assert_page_equals_ledger(resident) == earned - price


def test_staff_pages_are_accessible(page):
    login(page, "community")
    for url, name in [
        ("/points/manage/reports/", "points-reports"),
        ("/points/manage/merchants/", "points-merchants"),
        ("/points/recognition/", "points-recognition-staff"),
        ("/points/manage/tasks/new/", "points-task-form"),
    ]:
        page.goto(url)
        assert page.locator("h1").count() == 1
        assert_accessible(page, url)
        screenshot(page, name)
        if name == "points-reports":
            expect(page.locator("#ledger-check .ok")).to_be_visible()


def test_resident_pages_on_a_phone_and_in_elder_mode(mobile_page):
    login(mobile_page, "resident")
    for url, name in [
        ("/points/my/tasks/", "points-my-tasks-mobile"),
        ("/points/help/new/", "points-help-mobile"),
        ("/points/recognition/", "points-recognition-mobile"),
        ("/points/certificate/", "points-certificate-mobile"),
    ]:
        mobile_page.goto(url)
        assert_accessible(mobile_page, url)
        screenshot(mobile_page, name)
    mobile_page.goto("/points/me/")
    mobile_page.click("#elder-toggle")
    mobile_page.wait_for_load_state()
    assert "elder-mode" in mobile_page.locator("html").get_attribute("class")
    assert_accessible(mobile_page, "my points (elder mode)")
    screenshot(mobile_page, "points-me-elder-mobile")
    mobile_page.click("#paycode-button")
    expect(mobile_page.locator("#paycode")).to_have_text(re.compile(r"^\d{8}$"))
    screenshot(mobile_page, "points-paycode-elder-mobile")
    mobile_page.goto("/points/me/")
    mobile_page.click("#elder-toggle")  # back to normal for other tests


def test_merchant_till(page):
    login(page, "merchant")
    page.goto("/points/till/")
    assert_accessible(page, "till")
    page.fill("#id_code", "00000000")
    page.fill("#id_points", "10")
    page.get_by_role("button", name="确认收款").click()
    expect(page.locator(".message--error")).to_contain_text("付款码无效")
    screenshot(page, "points-till")
