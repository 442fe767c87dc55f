"""Pages: 随手拍, 我的诉求, inbox, case detail with actions, dispatch board, verification
queue, hotline entry; photos only through the permission-checked view; navigation."""

import re

import pytest
from django.urls import reverse

from shequ.cases.models import Case, CasePhoto
from shequ.cases.workflow import Status
from tests.support.cases import drive, point_in, report, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]


def test_report_page_renders_with_categories_and_map(client_as):
    response = client_as("resident").get(reverse("cases-report"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "随手拍" in body and 'id="pick-map"' in body
    assert body.count("<optgroup") == 10 and "暴露垃圾" in body
    assert "<script>" not in body  # CSP: no inline scripts


def test_report_post_creates_case_and_redirects(client_as, persona, world):
    lat, lng = point_in(world["grid_a"])
    response = client_as("resident").post(
        reverse("cases-report"),
        {
            "category": "0101",
            "description": "绿化带旁有垃圾",
            "lat": lat,
            "lng": lng,
            "attr_amount": "v1",
            "photos": [upload()],
        },
    )
    case = Case.objects.get(reporter=persona("resident"))
    assert response.status_code == 302 and response["Location"] == reverse(
        "case-detail", args=[case.pk]
    )
    assert case.status == Status.DISPATCHED and case.photos.count() == 1


def test_report_post_errors_are_shown_in_chinese(client_as, world):
    response = client_as("resident").post(
        reverse("cases-report"),
        {
            "category": "0101",
            "description": "",
            "lat": 40,
            "lng": 116,
            "photos": [upload("a.jpg", b"text")],
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "请填写问题描述" in body and "不在丹阳市" in body and "不是有效的图片" in body
    assert Case.objects.count() == 0


def test_attributes_fragment(client_as):
    body = (
        client_as("resident")
        .get(reverse("cases-report-attributes"), {"category": "0904"})
        .content.decode()
    )
    assert "发生时段" in body and 'type="checkbox"' in body


def test_duplicates_fragment_offers_follow(client_as, persona, world):
    lat, lng = point_in(world["grid_a"])
    case = report(persona("grid"), "0101", lat=lat, lng=lng, channel="patrol")
    body = (
        client_as("resident")
        .get(reverse("cases-report-duplicates"), {"category": "0101", "lat": lat, "lng": lng})
        .content.decode()
    )
    assert "我也遇到" in body and reverse("case-follow", args=[case.pk]) in body
    assert case.description not in body  # no personal content leaks to other residents
    response = client_as("resident").post(
        reverse("case-follow", args=[case.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("cases-mine")
    mine = client_as("resident").get(reverse("cases-mine")).content.decode()
    assert case.code in mine


def test_my_cases_and_detail_timeline(client_as, persona, world, django_assert_max_num_queries):
    case = drive(report(persona("resident"), "0101", grid=world["grid_a"]), Status.CLOSED, persona)
    client = client_as("resident")
    for _ in range(3):
        report(persona("resident"), "0101", grid=world["grid_a"])
    with django_assert_max_num_queries(8):
        body = client.get(reverse("cases-mine")).content.decode()
    assert case.code in body and "已结案" in body
    detail = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    for label in ("上报", "立案", "派遣", "接单", "处理反馈", "核查结案"):
        assert label in detail
    assert 'id="form-rate"' in detail  # the resident can rate now
    assert "action-accept" not in detail


def test_inbox_soonest_first_with_colours(client_as, persona, world, django_assert_max_num_queries):
    cases = [
        report(persona("resident"), code, grid=world["grid_a"]) for code in ("0101", "0102", "0105")
    ]
    client = client_as("grid")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("cases-inbox"))
    body = response.content.decode()
    codes = re.findall(r'data-case-code="([^"]+)"', body)
    expected = [c.code for c in sorted(cases, key=lambda c: c.step_due_at)]
    assert codes == expected  # 道路不洁 (5 工作时) before 暴露垃圾 (1 工作日) before 小广告
    assert "case-row--green" in body
    assert (
        client_as("grid2").get(reverse("cases-inbox")).content.decode().count("data-case-code") == 0
    )


def test_grid_worker_flow_on_pages(client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    grid = client_as("grid")
    detail = grid.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert 'id="action-accept"' in detail and "申请延期" in detail and "退回" in detail
    assert grid.post(reverse("case-act", args=[case.pk, "accept"])).status_code == 302
    response = grid.post(
        reverse("case-act", args=[case.pk, "handle"]),
        {"note": "已清理", "photos": [upload()]},
        follow=True,
    )
    assert "已完成：处理反馈" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.HANDLED
    # The grid worker handled it: the verification queue of `community` has it, theirs not.
    assert case.code not in grid.get(reverse("cases-verify")).content.decode()
    community = client_as("community")
    assert case.code in community.get(reverse("cases-verify")).content.decode()
    community.post(reverse("case-act", args=[case.pk, "verify"]), {"note": "现场已核实"})
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    resident = client_as("resident")
    resident.post(
        reverse("case-act", args=[case.pk, "rate"]), {"rating": "satisfied", "comment": "谢谢"}
    )
    case.refresh_from_db()
    assert case.satisfaction == "satisfied"


def test_conflict_and_forbidden_show_messages(client_as, persona, world):
    case = drive(report(persona("resident"), "0101", grid=world["grid_a"]), Status.CLOSED, persona)
    response = client_as("grid").post(reverse("case-act", args=[case.pk, "accept"]), follow=True)
    assert "不能执行「接单」" in response.content.decode()
    response = client_as("resident").post(
        reverse("case-act", args=[case.pk, "dispatch"]), follow=True
    )
    assert "没有执行此操作的权限" in response.content.decode()


def test_grid2_gets_404_on_grids_case_pages_and_photos(client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    photo = CasePhoto.objects.get(case=case)
    other = client_as("grid2")
    assert other.get(reverse("case-detail", args=[case.pk])).status_code == 404
    assert other.post(reverse("case-act", args=[case.pk, "accept"])).status_code == 404
    assert other.get(reverse("case-photo", args=[photo.pk])).status_code == 404
    mine = client_as("grid").get(reverse("case-photo-thumb", args=[photo.pk]))
    assert mine.status_code == 200 and mine["Content-Type"] == "image/jpeg"
    assert mine["Cache-Control"].startswith("private")
    assert client_as("resident").get(reverse("case-photo", args=[photo.pk])).status_code == 200


def test_photos_are_not_public(client, persona, world, settings):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    photo = CasePhoto.objects.get(case=case)
    assert client.get(reverse("case-photo", args=[photo.pk])).status_code == 302  # to login
    assert client.get("/media/" + photo.path).status_code == 404
    assert "/media/" not in client_as_detail(persona, case)


def client_as_detail(persona, case):
    from django.test import Client

    client = Client()
    client.force_login(persona("grid"))
    return client.get(reverse("case-detail", args=[case.pk])).content.decode()


def test_board_tabs_and_counts(client_as, persona, world, django_assert_max_num_queries):
    pending = report(persona("resident"), "0701", grid=world["grid_a"], attributes={}, photos=[])
    report(persona("resident"), "0101", grid=world["grid_a"])
    client = client_as("community")
    with django_assert_max_num_queries(10):
        body = client.get(reverse("cases-board")).content.decode()
    assert pending.code in body and "待立案" in body
    assert "按类别（未结）" in body and "矛盾纠纷" in body
    fragment = client.get(reverse("cases-board") + "?tab=open", headers={"HX-Request": "true"})
    assert "<html" not in fragment.content.decode() and pending.code in fragment.content.decode()
    assert client_as("grid").get(reverse("cases-board")).status_code == 404
    # Township sees it too; another township's officer would not (scope via the helper).
    assert pending.code in client_as("township").get(reverse("cases-board")).content.decode()


def test_register_and_dispatch_on_the_detail_page(client_as, persona, world):
    case = report(persona("resident"), "0701", grid=world["grid_a"], attributes={}, photos=[])
    client = client_as("community")
    client.post(
        reverse("case-act", args=[case.pk, "register"]), {"category": "0701", "note": "受理"}
    )
    client.post(reverse("case-act", args=[case.pk, "dispatch"]), {"handler_type": ""})
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.due_at


def test_hotline_entry_page(client_as, world):
    client = client_as("community")
    assert client.get(reverse("cases-hotline")).status_code == 200
    lat, lng = point_in(world["grid_a"])
    response = client.post(
        reverse("cases-hotline"),
        {
            "channel": "hotline",
            "source_ref": "12345-0001",
            "contact_name": "王大妈",
            "contact_phone": "13912345678",
            "category": "0202",
            "lat": lat,
            "lng": lng,
            "description": "小区门口路灯不亮",
        },
    )
    case = Case.objects.get(source_ref="12345-0001")
    assert response.status_code == 302 and case.channel == "hotline" and case.reporter is None
    again = client.post(
        reverse("cases-hotline"),
        {
            "channel": "hotline",
            "source_ref": "12345-0001",
            "category": "0202",
            "lat": lat,
            "lng": lng,
            "description": "x",
        },
    )
    assert again.status_code == 400 and "已登记过" in again.content.decode()
    assert client_as("resident").get(reverse("cases-hotline")).status_code == 404
    detail = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "139****5678" in detail and "13912345678" not in detail


def test_reveal_contact_phone_is_audited(client_as, persona, world):
    from shequ.core.models import AuditEvent

    case = report(
        persona("community"),
        "0202",
        grid=world["grid_a"],
        channel="phone",
        contact_phone="13912345678",
        photos=[],
    )
    client = client_as("community")
    refused = client.post(reverse("case-contact", args=[case.pk]), {"reason": ""}, follow=True)
    assert "须填写事由" in refused.content.decode() and not AuditEvent.objects.exists()
    body = client.post(
        reverse("case-contact", args=[case.pk]), {"reason": "电话回访"}
    ).content.decode()
    assert "13912345678" in body
    event = AuditEvent.objects.get(action="cases.reveal_contact_phone", object_id=str(case.pk))
    assert event.reason == "电话回访" and "13912345678" not in str(event.details)
    assert (
        client_as("grid").post(reverse("case-contact", args=[case.pk]), {"reason": "x"}).status_code
        == 404
    )


def test_the_contact_reveal_is_a_service_with_its_own_refusals(persona, world):
    from shequ.cases.services import case_reveal_contact_phone
    from shequ.core.errors import InvalidInput, NotFoundError
    from shequ.core.models import AuditEvent

    case = report(
        persona("community"),
        "0202",
        grid=world["grid_a"],
        channel="phone",
        contact_phone="13912345678",
        photos=[],
    )
    with pytest.raises(NotFoundError):
        case_reveal_contact_phone(actor=persona("resident"), case=case, reason="好奇")
    with pytest.raises(InvalidInput):
        case_reveal_contact_phone(actor=persona("community"), case=case, reason=" ")
    assert not AuditEvent.objects.filter(action="cases.reveal_contact_phone").exists()
    phone = case_reveal_contact_phone(actor=persona("community"), case=case, reason="回访")
    assert phone == "13912345678"
    assert AuditEvent.objects.filter(action="cases.reveal_contact_phone").count() == 1


def test_navigation_shows_the_right_pages(client_as):
    resident = client_as("resident").get("/").content.decode()
    assert "随手拍" in resident and "我的诉求" in resident and "派遣台" not in resident
    grid = client_as("grid").get("/").content.decode()
    assert "待办案件" in grid and "随手拍" in grid
    community = client_as("community").get("/").content.decode()
    assert "派遣台" in community and "核查结案" in community and "热线登记" in community
    assert "派遣台" in client_as("city").get("/").content.decode()


def test_elder_mode_keeps_working(client_as, persona):
    user = persona("resident")
    user.elder_mode = True
    user.save(update_fields=["elder_mode"])
    body = client_as("resident").get(reverse("cases-report")).content.decode()
    assert 'class="elder-mode"' in body


def test_case_search_page(client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    body = client_as("township").get(reverse("cases-list"), {"q": case.code}).content.decode()
    assert case.code in body


def test_admin_for_categories_and_calendar(client_as):
    for user in ("admin", "city"):
        client = client_as(user)
        for url in (
            "/admin/cases/category/",
            "/admin/cases/category/add/",
            "/admin/core/calendarday/",
            "/admin/core/calendarday/add/",
        ):
            assert client.get(url).status_code == 200, (user, url)
    body = client_as("city").get("/admin/cases/category/").content.decode()
    assert "暴露垃圾" in body
    response = client_as("city").post(
        "/admin/core/calendarday/add/", {"date": "2027-10-01", "is_workday": "", "note": "国庆节"}
    )
    assert response.status_code == 302
    import datetime as dt

    from shequ.core.calendar import get_calendar

    assert not get_calendar().is_workday(dt.date(2027, 10, 1))
    assert client_as("grid").get("/admin/cases/category/").status_code == 302


def test_case_admin_is_read_only(client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    client = client_as("admin")
    assert client.get("/admin/cases/case/").status_code == 200
    body = client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert case.code in body and "contact_phone" not in body
