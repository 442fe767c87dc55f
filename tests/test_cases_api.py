"""The closed-loop API: POST/GET /api/v1/cases, transitions, categories; Idempotency-Key;
errors 400 (Chinese field errors), 403, 404, 409; OpenAPI."""

import base64

import pytest
from django.test import override_settings

from shequ.cases import services
from shequ.cases.models import Case
from shequ.cases.workflow import Action, Status
from tests.support.cases import drive, managed_building, photo_bytes, point_in, report, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def body(world):
    lat, lng = point_in(world["grid_a"])
    return {
        "category": "0101",
        "description": "路口垃圾桶满了",
        "lat": lat,
        "lng": lng,
        "attributes": {"amount": "v3"},
        "photos": [b64(photo_bytes())],
    }


def post(client, data, **kwargs):
    return client.post("/api/v1/cases", data, content_type="application/json", **kwargs)


def test_create_json(api_client_as, body, world):
    response = post(api_client_as("resident"), body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == {"id", "code", "status", "grid_code", "due_at"}
    assert data["status"] == "dispatched" and data["grid_code"] == world["grid_a"]
    assert data["due_at"].endswith("+08:00") or data["due_at"].endswith("Z")
    case = Case.objects.get(pk=data["id"])
    assert case.channel == "api" and case.photos.count() == 1


def test_create_multipart(api_client_as, world):
    lat, lng = point_in(world["grid_a"])
    response = api_client_as("resident").post(
        "/api/v1/cases",
        {
            "category": "0904",
            "description": "夜间施工噪音",
            "lat": lat,
            "lng": lng,
            "attribute[times][]": ["v2", "v3"],
            "photos": [upload()],
        },
    )
    assert response.status_code == 201, response.json()
    case = Case.objects.get(pk=response.json()["id"])
    assert case.attributes == {"times": ["v2", "v3"]} and case.photos.count() == 1


def test_create_by_building(api_client_as, world):
    building = managed_building(world["grid_a"])
    response = post(
        api_client_as("community"),
        {
            "category": "0601",
            "description": "3 单元电梯停了",
            "building": building.code,
            "attributes": {"trapped": "no"},
            "channel": "phone",
            "contact_phone": "13912345678",
        },
    )
    assert response.status_code == 201, response.json()
    case = Case.objects.get(pk=response.json()["id"])
    assert case.handler_type == "property" and case.channel == "phone"


def test_idempotency_key_returns_the_first_case(api_client_as, body):
    client = api_client_as("resident")
    first = post(client, body, headers={"Idempotency-Key": "report-1"})
    second = post(client, body, headers={"Idempotency-Key": "report-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1
    other = post(
        client, {**body, "description": "另一件事"}, headers={"Idempotency-Key": "report-1"}
    )
    assert other.status_code == 422
    assert post(client, body, headers={"Idempotency-Key": "report-2"}).status_code == 201
    assert Case.objects.count() == 2


def test_failed_create_is_not_remembered(api_client_as, body):
    client = api_client_as("resident")
    bad = post(client, {**body, "category": "9999"}, headers={"Idempotency-Key": "k"})
    assert bad.status_code == 400
    assert post(client, body, headers={"Idempotency-Key": "k"}).status_code == 201


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"category": "9999"}, "category", "未知的问题类别"),
        ({"lat": 39.9, "lng": 116.4}, "lat", "不在丹阳市"),
        ({"attributes": {}}, "attributes.amount", "请填写"),
        ({"photos": []}, "photos", "需要上传现场照片"),
        ({"description": "长" * 4001}, "description", "不能超过 4000 字"),
        ({"photos": [b64(b"plain text, not a photo")]}, "photos.0", "不是有效的图片"),
        ({"photos": ["%%%not-base64%%%"]}, "photos.0", "base64"),
    ],
)
def test_bad_input_is_400_with_chinese_field_errors(api_client_as, body, change, field, text):
    response = post(api_client_as("resident"), {**body, **change})
    assert response.status_code == 400
    data = response.json()
    assert data["code"] in ("invalid", "validation_error")
    messages = {d["field"]: d["message"] for d in data["details"]}
    assert field in messages and text in messages[field], data
    assert Case.objects.count() == 0


def test_schema_errors(api_client_as, body):
    client = api_client_as("resident")
    response = post(client, {**body, "lat": "north"})
    assert response.status_code == 400 and response.json()["details"][0]["field"] == "lat"
    response = post(client, {**body, "unknown": 1})
    assert response.status_code == 400
    response = client.post("/api/v1/cases", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "malformed_request"
    missing = post(client, {"description": "x"})
    assert missing.status_code == 400 and missing.json()["details"][0]["message"] == "必填"


def test_duplicate_source_ref_is_409(api_client_as, world):
    lat, lng = point_in(world["grid_a"])
    data = {
        "category": "0202",
        "description": "路灯",
        "lat": lat,
        "lng": lng,
        "channel": "hotline",
        "source_ref": "GD-9",
    }
    client = api_client_as("community")
    assert post(client, data).status_code == 201
    again = post(client, data)
    assert again.status_code == 409 and again.json()["code"] == "duplicate_source_ref"


def test_unauthenticated_is_401(client, body):
    assert post(client, body).status_code == 401


def test_list_is_scoped_and_filtered(api_client_as, persona, world):
    a = report(persona("resident"), "0101", grid=world["grid_a"])
    b = report(persona("resident"), "0102", grid=world["grid_b"])
    closed = drive(
        report(persona("resident"), "0105", grid=world["grid_a"]), Status.CLOSED, persona
    )
    ids = lambda response: {item["id"] for item in response.json()["items"]}  # noqa: E731
    grid = api_client_as("grid")
    assert ids(grid.get("/api/v1/cases")) == {a.pk, closed.pk}
    assert ids(api_client_as("grid2").get("/api/v1/cases")) == {b.pk}
    community = api_client_as("community")
    assert ids(community.get("/api/v1/cases?status=open")) == {a.pk, b.pk}
    assert ids(community.get("/api/v1/cases?status=closed")) == {closed.pk}
    assert ids(community.get("/api/v1/cases?category=0102")) == {b.pk}
    assert ids(community.get(f"/api/v1/cases?region={world['grid_b']}")) == {b.pk}
    assert ids(community.get("/api/v1/cases?category=01&overdue=false")) == {a.pk, b.pk, closed.pk}
    assert ids(community.get(f"/api/v1/cases?q={a.code}")) == {a.pk}
    assert ids(grid.get("/api/v1/cases?assigned=true&status=open")) == {a.pk}
    assert ids(api_client_as("resident").get("/api/v1/cases?mine=true")) == {a.pk, b.pk, closed.pk}
    page = community.get("/api/v1/cases?page_size=2&page=2").json()
    assert page["count"] == 3 and len(page["items"]) == 1
    for bad in ("status=nope", "region=12", "page_size=1000", "from=yesterday", "channel=fax"):
        assert community.get(f"/api/v1/cases?{bad}").status_code == 400, bad


def test_detail_with_timeline_and_photos(api_client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    data = api_client_as("grid").get(f"/api/v1/cases/{case.pk}").json()
    assert [e["action"] for e in data["timeline"]] == ["report", "register", "dispatch"]
    assert "accept" in data["actions"]
    photo = data["timeline"][0]["photos"][0]
    image = api_client_as("grid").get(photo["thumb_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert api_client_as("grid2").get(photo["url"]).status_code == 404
    assert api_client_as("grid2").get(f"/api/v1/cases/{case.pk}").status_code == 404


def test_transitions_through_the_api(api_client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    url = f"/api/v1/cases/{case.pk}/transitions"
    grid, community, resident = (api_client_as(n) for n in ("grid", "community", "resident"))
    accepted = grid.post(url, {"action": "accept"}, content_type="application/json")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    handled = grid.post(url, {"action": "handle", "note": "已清理", "photos": [upload()]})
    assert handled.status_code == 200, handled.json()
    assert handled.json()["timeline"][-1]["photos"]
    own = grid.post(url, {"action": "verify"}, content_type="application/json")
    assert own.status_code == 403
    closed = community.post(
        url, {"action": "verify", "note": "核查通过"}, content_type="application/json"
    )
    assert closed.json()["status"] == "closed"
    again = grid.post(url, {"action": "accept"}, content_type="application/json")
    assert again.status_code == 409
    assert "已结案" in again.json()["message"] and again.json()["details"]["status"] == "closed"
    rated = resident.post(
        url,
        {"action": "rate", "rating": "basic", "comment": "挺快"},
        content_type="application/json",
    )
    assert rated.status_code == 200 and rated.json()["satisfaction"] == "basic"
    timeline = rated.json()["timeline"]
    assert all(event["public"] for event in timeline)  # the reporter sees public rows only


def test_transition_errors(api_client_as, persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    url = f"/api/v1/cases/{case.pk}/transitions"
    community = api_client_as("community")
    assert (
        community.post(url, {"action": "fly"}, content_type="application/json").status_code == 400
    )
    assert (
        api_client_as("resident")
        .post(url, {"action": "dispatch"}, content_type="application/json")
        .status_code
        == 403
    )
    assert (
        api_client_as("grid2")
        .post(url, {"action": "accept"}, content_type="application/json")
        .status_code
        == 404
    )
    assert (
        community.post(
            "/api/v1/cases/999999/transitions",
            {"action": "accept"},
            content_type="application/json",
        ).status_code
        == 404
    )
    missing = community.post(url, {"action": "void"}, content_type="application/json")
    assert missing.status_code == 409  # dispatched cannot be voided
    response = api_client_as("grid").post(
        url, {"action": "return"}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["details"][0]["field"] == "reason"


def test_merge_and_extension_via_api(api_client_as, persona, world):
    lat, lng = point_in(world["grid_a"])
    original = report(persona("resident"), "0101", lat=lat, lng=lng)
    duplicate = report(persona("resident"), "0101", lat=lat, lng=lng)
    community = api_client_as("community")
    merged = community.post(
        f"/api/v1/cases/{duplicate.pk}/transitions",
        {"action": "merge", "into": original.code},
        content_type="application/json",
    )
    assert merged.status_code == 200 and merged.json()["merged_into"] == original.code
    url = f"/api/v1/cases/{original.pk}/transitions"
    api_client_as("grid").post(
        url, {"action": "extend", "amount": 1, "reason": "等车"}, content_type="application/json"
    )
    approved = community.post(url, {"action": "approve_extension"}, content_type="application/json")
    assert approved.json()["extension_count"] == 1


def test_duplicates_and_follow(api_client_as, persona, world):
    lat, lng = point_in(world["grid_a"])
    case = report(persona("grid"), "0101", lat=lat, lng=lng, channel="patrol")
    found = (
        api_client_as("resident")
        .get(f"/api/v1/cases/duplicates?category=0101&lat={lat}&lng={lng}")
        .json()
    )
    assert [d["case_id"] for d in found] == [case.pk] and "description" not in found[0]
    assert api_client_as("resident").post(f"/api/v1/cases/{case.pk}/follow").json()["following"]
    limited = api_client_as("resident").get(f"/api/v1/cases/{case.pk}").json()
    assert limited["limited"] and limited["description"] is None
    assert (
        api_client_as("resident").get("/api/v1/cases/duplicates?category=x&lat=1&lng=1").status_code
        == 400
    )


def test_categories(api_client_as, django_assert_max_num_queries):
    client = api_client_as("resident")
    with django_assert_max_num_queries(8):
        data = client.get("/api/v1/categories").json()
    assert len(data) == 10 and sum(len(g["children"]) for g in data) >= 30
    groups = {g["name"] for g in data}
    assert {
        "市容环境",
        "公用设施",
        "道路交通",
        "园林绿化",
        "违法建设",
        "物业服务",
        "矛盾纠纷",
        "安全隐患",
        "民生诉求",
        "咨询建议",
    } == groups
    leaf = next(c for g in data for c in g["children"] if c["code"] == "0101")
    assert leaf["limits"]["handle"] == {"amount": 1, "unit": "work_days"}
    assert leaf["attributes"][0]["datatype"] == "singlevaluelist"
    datatypes = {a["datatype"] for g in data for c in g["children"] for a in c["attributes"]}
    assert datatypes == {
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    }


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/transitions",
        "/api/v1/categories",
    } <= set(paths)
    assert "multipart/form-data" in paths["/api/v1/cases"]["post"]["requestBody"]["content"]


def test_list_query_count(api_client_as, persona, world, django_assert_max_num_queries):
    for _ in range(5):
        report(persona("resident"), "0101", grid=world["grid_a"])
    client = api_client_as("community")
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/cases").json()["count"] == 5


# Each action posted with an empty body, in Action's order, to one case per actor (a resident's
# report in grid A, dispatched to grid A at once): the one answer each must get (None: done).
# An action that succeeds moves the case on for the actions after it (community re-dispatches,
# supervises and escalates it; grid accepts it).
NOT_YOURS = "forbidden"
WRONG_STATUS = "transition_not_allowed"
EMPTY_BODY_ANSWERS = {
    "community": {
        "register": WRONG_STATUS,
        "void": WRONG_STATUS,
        "dispatch": None,
        "accept": "not_handler_unit",
        "handle": WRONG_STATUS,
        "verify": WRONG_STATUS,
        "rework": WRONG_STATUS,
        "extend": "not_handler_unit",
        "approve_extension": "no_extension_pending",
        "return": "not_handler_unit",
        "reopen": NOT_YOURS,
        "rate": NOT_YOURS,
        "merge": "invalid",
        "supervise": None,
        "escalate": None,
        "visit": WRONG_STATUS,
    },
    "grid": {
        "register": NOT_YOURS,
        "void": NOT_YOURS,
        "dispatch": NOT_YOURS,
        "accept": None,
        "handle": "invalid",
        "verify": WRONG_STATUS,
        "rework": WRONG_STATUS,
        "extend": "invalid",
        "approve_extension": NOT_YOURS,
        "return": "invalid",
        "reopen": NOT_YOURS,
        "rate": NOT_YOURS,
        "merge": "invalid",
        "supervise": NOT_YOURS,
        "escalate": NOT_YOURS,
        "visit": NOT_YOURS,
    },
    "resident": {
        **{a.value: NOT_YOURS for a in Action if a != Action.REPORT},
        "reopen": WRONG_STATUS,
        "rate": WRONG_STATUS,
        "merge": "invalid",
    },
}
STATUS_OF_CODE = {
    None: 200,
    "invalid": 400,
    NOT_YOURS: 403,
    "not_handler_unit": 403,
    WRONG_STATUS: 409,
    "no_extension_pending": 409,
}


@pytest.mark.parametrize("actor", ["community", "grid", "resident"])
def test_every_action_with_an_empty_body_gets_its_one_answer(api_client_as, persona, world, actor):
    expected = EMPTY_BODY_ANSWERS[actor]
    assert set(expected) == {a.value for a in Action if a != Action.REPORT}
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    assert case.status == Status.DISPATCHED
    client = api_client_as(actor)
    answers = {}
    for action in expected:
        response = client.post(
            f"/api/v1/cases/{case.pk}/transitions",
            {"action": action},
            content_type="application/json",
        )
        code = None if response.status_code == 200 else response.json()["code"]
        assert response.status_code == STATUS_OF_CODE[code], (action, response.json())
        answers[action] = code
    assert answers == expected


@override_settings(SHEQU_RATE_LIMIT_ENABLED=True, SHEQU_RATE_LIMITS={"report": "2/h"})
def test_residents_reports_are_rate_limited_staff_entry_is_not(api_client_as, body):
    from django.core.cache import cache

    cache.clear()
    resident = api_client_as("resident")
    assert post(resident, body).status_code == 201
    assert post(resident, body).status_code == 201
    third = post(resident, body)
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"
    assert "Retry-After" in third
    staff = api_client_as("grid")
    for _ in range(3):
        assert post(staff, body).status_code == 201


def test_overdue_cases_are_a_metrics_gauge(persona, world):
    from datetime import timedelta

    from django.utils import timezone

    from shequ.cases.selectors import overdue_gauge
    from shequ.core import metrics

    assert "shequ_cases_overdue" in {g.name for g in metrics.gauges()}
    before = dict(overdue_gauge()).get((world["township"],), 0)
    lat, lng = point_in(world["grid_a"])
    case = services.case_report(
        actor=persona("resident"),
        category="0101",
        description="x",
        lat=lat,
        lng=lng,
        photos=[photo_bytes()],
        attributes={"amount": "v3"},
    )
    Case.objects.filter(pk=case.pk).update(step_due_at=timezone.now() - timedelta(hours=1))
    assert dict(overdue_gauge())[(world["township"],)] == before + 1


@override_settings(SHEQU_RATE_LIMIT_ENABLED=True, SHEQU_RATE_LIMITS={"report": "2/h"})
def test_the_report_rate_limit_is_one_rule_for_page_and_api(persona):
    """Staff entry is never limited — the rule reads the user's roles, not the admin flag
    (is_staff is only for the admin's roles now); a resident is limited on page and API alike."""
    from django.core.cache import cache

    from shequ.cases.services import report_rate_check, reporting_channel
    from shequ.core.errors import ServiceError

    cache.clear()
    community = persona("community")
    for _ in range(3):
        report_rate_check(actor=community, request=None)
    grid = persona("grid")
    assert not grid.is_staff  # no admin for field roles; still staff entry, never limited
    for _ in range(3):
        report_rate_check(actor=grid, request=None)
    assert reporting_channel(persona("grid")) == "patrol"
    assert reporting_channel(persona("resident")) == "resident"
    resident = persona("resident")
    report_rate_check(actor=resident, request=None)
    report_rate_check(actor=resident, request=None)
    with pytest.raises(ServiceError) as refused:
        report_rate_check(actor=resident, request=None)
    assert refused.value.status == 429
