"""The registry in a real browser: list and search, detail, reveal with a reason and the audit
row, Excel upload with errors → report → fixed → imported, the building's room grid, the
resident's own record on a phone, the auditor's search. axe-core on every page."""

import io
from datetime import date

from playwright.sync_api import expect

from tests.support.browser import assert_accessible, login, screenshot

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["丹凤社区新增住户登记表"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_people_list_search_and_detail(page):
    login(page, "grid")
    page.goto("/people/")
    expect(page.locator("#people-table tbody tr").first).to_be_visible()
    assert "共" in page.locator("#people-count").inner_text()
    assert "**********" in page.locator("#people-table tbody").inner_text()
    assert_accessible(page, "people list")
    screenshot(page, "people-list")
    page.fill("#people-q", "刘")
    page.click("#people-search")
    expect(page.locator("#people-count")).to_contain_text("按姓名开头查找")
    names = page.locator("#people-table tbody th a").all_inner_texts()
    assert names and all(name.startswith("刘") for name in names)
    page.click("#people-table tbody th a >> text=刘居民")
    expect(page.locator("#person-name")).to_have_text("刘居民")
    assert_accessible(page, "person detail")
    screenshot(page, "people-detail")


def test_reveal_needs_a_reason_and_the_auditor_sees_it(page):
    login(page, "community")
    page.goto("/people/?q=刘居民")
    page.click("#people-table tbody th a >> text=刘居民")
    detail_url = page.url
    masked = page.locator('[data-masked="id_number"]').inner_text()
    assert "**********" in masked
    page.click("details.reveal-box:has(#reveal-id_number) summary")
    page.click('[data-reveal="id_number"]')
    expect(page.locator("#reveal-id_number .reveal__error")).to_contain_text("请填写查看理由")
    page.fill("#reveal-reason-id_number", "核对低保申请材料")
    page.click("#reveal-id_number button")
    revealed = page.locator('[data-revealed="id_number"]')
    expect(revealed).to_be_visible()
    value = revealed.inner_text()
    assert len(value) == 18 and value[:4] == masked[:4] and value[-4:] == masked[-4:]
    screenshot(page, "people-reveal")
    page.click("text=退出")
    login(page, "auditor")
    page.goto(detail_url)
    row = page.locator("#reveal-audit tbody tr").first
    expect(row).to_contain_text("核对低保申请材料")
    expect(row).to_contain_text("community")
    assert_accessible(page, "detail as auditor")
    screenshot(page, "people-detail-auditor")
    page.goto("/audit/?reason=低保")
    expect(page.locator("#audit-table tbody")).to_contain_text("核对低保申请材料")
    assert_accessible(page, "audit log")
    screenshot(page, "audit-log")


def test_import_with_errors_shows_the_report_then_the_fixed_file_imports(page):
    from shequ.core.idnumbers import make_id_number

    good = make_id_number("110105", date(1966, 6, 6), 51)
    second = make_id_number("110105", date(1970, 7, 7), 62)
    header = ["姓名", "身份证号码", "联系电话", "所属网格", "小区", "楼号", "房号", "人员类别"]
    bad_rows = [
        header,
        ["钱多多", good, "19912000001", "第一网格", "新苑小区", "8幢", "101", "低保"],
        [
            "孙不足",
            second[:-1] + ("0" if second[-1] != "0" else "1"),
            "1991200",
            "第一网格",
            "新苑小区",
            "8幢",
            "102",
            "",
        ],
    ]
    login(page, "community")
    page.goto("/people/import/")
    assert_accessible(page, "import page")
    page.set_input_files(
        "#id_file",
        files=[{"name": "新增住户.xlsx", "mimeType": XLSX, "buffer": workbook(bad_rows)}],
    )
    page.check("#id_create_missing")  # 新苑小区 is new
    page.click("#import-submit")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "rejected")
    problems = page.locator("#import-problems tbody")
    expect(problems).to_contain_text("校验位错误：应为")
    expect(problems).to_contain_text("手机号码")
    assert page.locator("#import-problems tbody tr").count() == 2
    expect(page.locator("#job-message")).to_contain_text("未写入任何数据")
    assert_accessible(page, "import report")
    screenshot(page, "people-import-report")
    fixed = [
        header,
        bad_rows[1],
        ["孙不足", second, "19912000002", "第一网格", "新苑小区", "8幢", "102", ""],
    ]
    page.goto("/people/import/")
    page.set_input_files(
        "#id_file",
        files=[{"name": "新增住户-改.xlsx", "mimeType": XLSX, "buffer": workbook(fixed)}],
    )
    page.check("#id_create_missing")
    page.uncheck("#id_dry_run")  # straight in, without a preview
    page.click("#import-submit")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#job-created")).to_have_text("2")
    expect(page.locator("#import-new-places")).to_contain_text("新苑小区8幢")
    screenshot(page, "people-import-done")
    page.goto("/people/?q=钱多多")
    expect(page.locator("#people-table tbody")).to_contain_text("钱多多")
    expect(page.locator("#people-table tbody")).to_contain_text("低保")


def field_ledger() -> bytes:
    """A 台账 as a community keeps it: two title rows, a 序号 column, blank spacer rows, no
    户号, relations as people write them, tags in their common spellings."""
    from openpyxl import Workbook

    from shequ.core.idnumbers import make_id_number

    def number(year, seq):
        return make_id_number("110105", date(year, 2, 14), seq)

    book = Workbook()
    sheet = book.active
    sheet.append(["丹凤社区实有人口台账（2026年）"])
    sheet.merge_cells("A1:J1")
    sheet.append(["填报单位：丹凤社区居委会"])
    sheet.append(
        ["序号", "姓名", "公民身份号码", "关系", "小区", "幢", "单元", "房号", "手机号", "人员类别"]
    )
    rows = [
        [
            1,
            "台账甲",
            number(1948, 11),
            "户主",
            "台账新村",
            "1幢",
            1,
            "101",
            "13912300001",
            "独居老人",
        ],
        [2, "台账乙", number(1950, 22), "妻", "台账新村", "1幢", 1, "101", "", "低保户、残疾人"],
        [],
        [3, "台账丙", number(1975, 33), "户主", "台账新村", "1幢", 1, "102", "", "退役军人"],
        [4, "台账丁", number(2012, 44), "子", "台账新村", "1幢", 1, "102", "", "留守儿童"],
        [5, "台账戊", number(1980, 55), "本人", "台账新村", "1幢", 1, "201", "", "困难职工"],
        [6],
        [7],
    ]
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_field_ledger_preview_with_warnings_then_import(page):
    login(page, "community")
    page.goto("/people/import/")
    expect(page.locator("#id_dry_run")).to_be_checked()  # preview first, by default
    page.set_input_files(
        "#id_file",
        files=[{"name": "实有人口台账.xlsx", "mimeType": XLSX, "buffer": field_ledger()}],
    )
    page.select_option("#id_grid", label="丹凤社区 第一网格")
    page.check("#id_create_missing")
    screenshot(page, "people-import-page")
    page.click("#import-submit")
    status = page.locator("#job-status")
    expect(status).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#job-message")).to_contain_text("预览：校验通过，尚未写入")
    expect(page.locator("#job-created")).to_have_text("5")
    summary = page.locator("#import-summary")
    expect(summary.locator('tr[data-entity="household"] td').first).to_have_text("3")
    expect(summary.locator('tr[data-entity="tag"] td').first).to_have_text("5")
    warnings = page.locator("#import-warnings tbody")
    expect(warnings).to_contain_text("困难职工")
    expect(warnings).to_contain_text("最接近的是")
    expect(page.locator("#import-new-places")).to_contain_text("台账新村1幢")
    assert_accessible(page, "import preview")
    screenshot(page, "people-import-preview")
    page.click("#import-confirm")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#job-message")).to_contain_text("导入完成")
    expect(page.locator("#job-created")).to_have_text("5")
    screenshot(page, "people-import-confirmed")
    page.goto("/people/?q=台账甲")
    page.click("#people-table tbody th a >> text=台账甲")
    members = page.locator("#household-members")
    expect(members).to_contain_text("台账乙")
    expect(page.locator("main")).to_contain_text("独居")


def test_building_room_grid(page):
    login(page, "grid")
    page.goto("/people/?q=刘居民")
    page.click("#people-table tbody td a")  # the address links to the building
    expect(page.locator(".room-grid").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("刘居民")
    assert_accessible(page, "building rooms")
    screenshot(page, "people-building")


def test_register_form(page):
    login(page, "grid")
    page.goto("/people/new/")
    page.fill("#id_name", "测试员")
    page.fill("#id_id_number", "110105194912310021")
    page.select_option("#id_grid", index=1)
    page.click("#person-save")
    expect(page.locator("#id_id_number_errors")).to_contain_text("校验位错误：应为 X")
    assert_accessible(page, "register form with errors")
    screenshot(page, "people-form-errors")


def test_resident_sees_own_record_on_a_phone(mobile_page):
    login(mobile_page, "resident")
    mobile_page.goto("/people/me/")
    expect(mobile_page.locator("#person-name")).to_have_text("刘居民")
    assert "**********" in mobile_page.locator('[data-masked="id_number"]').inner_text()
    mobile_page.click("details.reveal-box:has(#reveal-mobile) summary")
    mobile_page.click('[data-reveal="mobile"]')  # the reason is prefilled: 本人查看
    expect(mobile_page.locator('[data-revealed="mobile"]')).to_have_text("19900000006")
    assert_accessible(mobile_page, "own record")
    screenshot(mobile_page, "people-me-mobile")


def test_grid_worker_list_on_a_phone(mobile_page):
    login(mobile_page, "grid")
    mobile_page.goto("/people/?tag=disability")
    first = mobile_page.locator("#people-table tbody tr").first
    expect(first).to_contain_text("残疾")
    # Rows are cards on a phone: the table header is hidden, each field is labelled.
    assert mobile_page.locator("#people-table thead").bounding_box()["height"] <= 1
    expect(first.locator('td[data-label="证件号码"]')).to_be_visible()
    assert_accessible(mobile_page, "people list on a phone")
    screenshot(mobile_page, "people-list-mobile")


def test_the_city_operator_teaches_the_import_a_tag_spelling(page):
    login(page, "city")
    page.goto("/people/tags/")
    expect(page.locator('#tag-vocabulary tr[data-tag="dibao"]')).to_contain_text("低保户")
    assert_accessible(page, "tag vocabulary")
    page.select_option("#id_tag_type", label="困难户")
    page.fill("#id_text", "困难、职工")
    page.click("#synonym-add")
    expect(page.locator("#id_text_errors")).to_contain_text("不能有顿号")
    page.fill("#id_text", "困难职工")
    page.click("#synonym-add")
    expect(page.locator('#tag-vocabulary tr[data-tag="hardship"]')).to_contain_text("困难职工")
    screenshot(page, "people-tag-vocabulary")
