"""Open311 GeoReport v2 (/open311/v2/): every resource in JSON (validated against the official
schemas) and XML (element by element), jurisdictions, keys, POST through case_report, filters,
privacy, the FixMyStreet updates extension, and every kind of bad input (never a 500)."""

import datetime as dt

import pytest
from django.utils import timezone

from shequ.cases.models import Case, CaseEvent
from shequ.cases.workflow import Channel, Status
from shequ.geo.models import Building, House
from shequ.open311.models import ApiKey
from tests.support.cases import drive, point_in
from tests.support.open311 import (
    BASE,
    KEY,
    check_official,
    errors_of,
    make_key,
    post,
    xml,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]
OUTSIDE = (31.23, 121.47)  # Shanghai


@pytest.fixture
def key():
    return make_key(can_post_updates=True)


@pytest.fixture
def here(world):
    return point_in(world["grid_a"])


def submit(client, here, **extra):
    lat, lng = here
    data = {
        "service_code": "0101",
        "lat": lat,
        "long": lng,
        "description": "小区门口垃圾堆放",
        "attribute[amount]": "v2",
        **extra,
    }
    return post(client, data)


# --- discovery, services, definitions ------------------------------------------------------


def test_discovery_in_json_and_xml(client):
    body = client.get(BASE + "discovery.json").json()
    assert body["endpoints"][0]["url"].endswith("/open311/v2/")
    assert "text/xml" in body["endpoints"][0]["formats"]
    root = xml(client.get(BASE + "discovery.xml"))
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


def test_services_are_the_leaf_categories(client):
    response = client.get(BASE + "services.json")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    services = response.json()
    check_official("services", services)
    by_code = {s["service_code"]: s for s in services}
    assert "01" not in by_code and len(by_code) == 40
    assert by_code["0101"] == {
        "service_code": "0101",
        "service_name": "暴露垃圾",
        "description": "市容环境 · 暴露垃圾",
        "metadata": True,
        "type": "realtime",
        "keywords": "垃圾,堆放,乱扔",
        "group": "市容环境",
    }
    assert by_code["0102"]["metadata"] is False

    root = xml(client.get(BASE + "services.xml"))
    assert root.tag == "services"
    items = root.findall("service")
    assert len(items) == 40
    first = items[0]
    assert [child.tag for child in first] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    assert first.findtext("service_name") == "暴露垃圾"  # Chinese round-trips in UTF-8
    assert first.findtext("metadata") == "true"


def test_service_definition(client):
    body = client.get(BASE + "services/0101.json").json()
    check_official("service-definition", body)
    (amount,) = body["attributes"]
    assert amount["code"] == "amount" and amount["datatype"] == "singlevaluelist"
    assert amount["required"] is True and amount["order"] == 1
    assert amount["values"][0] == {"key": "v1", "name": "少量"}
    noise = client.get(BASE + "services/0904.json").json()
    check_official("service-definition", noise)
    assert noise["attributes"][0]["datatype"] == "multivaluelist"

    root = xml(client.get(BASE + "services/0101.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "0101"
    attribute = root.find("attributes/attribute")
    assert attribute.findtext("code") == "amount"
    assert attribute.findtext("required") == "true"
    values = attribute.findall("values/value")
    assert (values[0].findtext("key"), values[0].findtext("name")) == ("v1", "少量")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_and_format_are_404(client, fmt):
    for path in (f"services/9999.{fmt}", f"services/01.{fmt}", f"nothing.{fmt}"):
        response = client.get(BASE + path)
        assert response.status_code == 404, path
        assert errors_of(response)[0]["code"] == 404
    for path in ("services.csv", "requests.csv", "services/0101.csv", "discovery.html"):
        response = client.get(BASE + path)
        assert response.status_code == 404 and errors_of(response)


@pytest.mark.parametrize("value", ["", "321181", "danyang.gov.cn"])
def test_accepted_jurisdictions(client, value):
    assert client.get(BASE + "services.json", {"jurisdiction_id": value}).status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_jurisdiction_is_404(client, key, here, fmt):
    response = client.get(BASE + f"services.{fmt}", {"jurisdiction_id": "320100"})
    assert response.status_code == 404
    assert "jurisdiction_id" in errors_of(response)[0]["description"]
    lat, lng = here
    response = post(
        client,
        {
            "jurisdiction_id": "example.com",
            "service_code": "0102",
            "lat": lat,
            "long": lng,
            "description": "x",
        },
    )
    assert response.status_code == 404 and not Case.objects.exists()


# --- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api_key", [None, "", "wrong-key-123", KEY + "x"])
def test_post_without_a_valid_key_is_403(client, key, here, api_key):
    lat, lng = here
    data = {"service_code": "0102", "lat": lat, "long": lng, "description": "路面脏"}
    data["api_key"] = api_key
    response = post(client, data)
    assert response.status_code == 403
    assert "api_key" in errors_of(response)[0]["description"]
    assert not Case.objects.exists()


def test_revoked_key_is_refused(client, key, here):
    from shequ.open311.keys import api_key_revoke

    api_key_revoke(name=key.name)
    response = submit(client, here)
    assert response.status_code == 403 and not Case.objects.exists()


def test_keys_are_stored_hashed(key):
    row = ApiKey.objects.get(pk=key.pk)
    assert KEY not in (row.key_hash, row.prefix, row.name) and len(row.key_hash) == 64
    assert row.prefix == KEY[:8]


def test_rate_limit_per_key(client, key, here, settings):
    settings.SHEQU_RATE_LIMIT_ENABLED = True
    from django.core.cache import cache

    cache.clear()
    ApiKey.objects.filter(pk=key.pk).update(rate_limit=2)
    assert submit(client, here).status_code == 201
    assert submit(client, here, description="第二条").status_code == 201
    response = submit(client, here, description="第三条")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert errors_of(response)[0]["code"] == 429
    assert Case.objects.count() == 2
    other = make_key(name="other", key="another-key-123")  # each key has its own budget
    assert other.rate_limit == 60
    assert (
        post(
            client,
            {
                "api_key": "another-key-123",
                "service_code": "0102",
                "lat": here[0],
                "long": here[1],
                "description": "x",
            },
        ).status_code
        == 201
    )
    cache.clear()


# --- POST requests -------------------------------------------------------------------------


def test_post_creates_a_case_through_case_report(client, key, here):
    response = submit(
        client,
        here,
        device_id="dev-1",
        media_url="https://example.org/p/1.jpg",
        first_name="小明",
        last_name="王",
        phone="13812345678",
        email="wang@example.org",
        account_id="acc-9",
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    (row,) = response.json()
    assert set(row) == {"service_request_id", "service_notice", "account_id"}
    assert row["service_notice"] == "立案派遣后预计 1 个工作日内处置完毕。"
    assert row["account_id"] == "acc-9"
    case = Case.objects.get(code=row["service_request_id"])
    assert case.channel == Channel.OPEN311 and case.client == "open311:tests"
    assert case.reporter is None and case.device_id == "dev-1"
    assert case.media_url == "https://example.org/p/1.jpg"
    assert case.attributes == {"amount": "v2"} and case.category.code == "0101"
    assert case.contact_name == "王小明" and case.contact_phone == "13812345678"
    # The same service as the web: report row on the timeline, automatic dispatch.
    assert case.status == Status.DISPATCHED
    assert CaseEvent.objects.filter(case=case, action="report").exists()
    detail = client.get(BASE + f"requests/{case.code}.json").json()
    check_official("requests", detail)


def test_post_in_xml_and_fixmystreet_deviceid(client, key, here):
    lat, lng = here
    response = post(
        client,
        {
            "service_code": "0102",
            "lat": lat,
            "long": lng,
            "description": "路面脏",
            "deviceid": "fms-device",
        },
        path="requests.xml",
    )
    assert response.status_code == 201
    root = xml(response)
    assert root.tag == "service_requests"
    request = root.find("request")
    code = request.findtext("service_request_id")
    assert request.findtext("service_notice").startswith("立案派遣后预计")
    assert Case.objects.get(code=code).device_id == "fms-device"


def test_post_multi_value_attribute(client, key, here):
    lat, lng = here
    response = post(
        client,
        {
            "service_code": "0904",
            "lat": lat,
            "long": lng,
            "description": "夜间噪音",
            "attribute[times][]": ["v1", "v2"],
        },
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get(code=response.json()[0]["service_request_id"])
    assert case.attributes == {"times": ["v1", "v2"]}


def test_post_by_address_string_and_address_id(client, key, world):
    building = Building.objects.filter(region_code=world["grid_a"]).order_by("code").first()
    response = post(
        client,
        {
            "service_code": "0202",
            "address_string": f"江苏省 {building.address}",
            "description": "路灯不亮",
        },
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get(code=response.json()[0]["service_request_id"])
    assert case.building == building and case.region_code == building.region_code

    response = post(
        client, {"service_code": "0202", "address_id": building.code, "description": "路灯不亮"}
    )
    assert response.status_code == 201
    assert Case.objects.get(code=response.json()[0]["service_request_id"]).building == building

    house = House.objects.filter(building__region_code=world["grid_a"]).order_by("code").first()
    response = post(
        client, {"service_code": "0202", "address_id": house.code, "description": "路灯不亮"}
    )
    assert response.status_code == 201
    case = Case.objects.get(code=response.json()[0]["service_request_id"])
    assert case.building == house.building
    assert house.room not in case.address  # the house is not published, its building is


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_outside_danyang_is_400(client, key, fmt):
    response = post(
        client,
        {"service_code": "0102", "lat": OUTSIDE[0], "long": OUTSIDE[1], "description": "路面脏"},
        path=f"requests.{fmt}",
    )
    assert response.status_code == 400
    assert "丹阳" in errors_of(response)[0]["description"]
    assert not Case.objects.exists()


BAD_POSTS = {
    "no service_code": ({"service_code": None}, "service_code"),
    "non-numeric lat": ({"lat": "north"}, "lat"),
    "non-numeric long": ({"long": "1e999"}, "long"),
    "nan": ({"lat": "nan"}, "lat"),
    "only lat": ({"long": None}, "lat"),
    "no location": ({"lat": None, "long": None}, "lat"),
    "unknown address": (
        {"lat": None, "long": None, "address_string": "火星路1号"},
        "address_string",
    ),
    "unknown address_id": ({"lat": None, "long": None, "address_id": "999"}, "address_id"),
    "long description": ({"description": "长" * 4001}, "description"),
    "no description": ({"description": ""}, "description"),
    "missing required attribute": ({"attribute[amount]": None}, "attribute[amount]"),
    "unknown attribute value": ({"attribute[amount]": "v9"}, "attribute[amount]"),
    "unknown attribute": ({"attribute[colour]": "red"}, "attribute[colour]"),
    "malformed attribute": ({"attribute[amount": "v1"}, "attribute"),
    "bad media_url": ({"media_url": "javascript:alert(1)"}, "media_url"),
    "oversized device_id": ({"device_id": "d" * 101}, "device_id"),
    "oversized address_string": ({"address_string": "路" * 201}, "address_string"),
    "oversized name": ({"first_name": "名" * 26}, "first_name"),
    "bad phone": ({"phone": "12"}, "phone"),
    "bad email": ({"email": "nobody"}, "email"),
}


@pytest.mark.parametrize("case_name", list(BAD_POSTS))
def test_bad_posts_are_400_naming_the_parameter(client, key, here, case_name):
    changes, parameter = BAD_POSTS[case_name]
    lat, lng = here
    data = {
        "service_code": "0101",
        "lat": lat,
        "long": lng,
        "description": "垃圾",
        "attribute[amount]": "v1",
        **changes,
    }
    response = post(client, data)
    assert response.status_code == 400, response.content
    errors = errors_of(response)
    assert any(parameter in e["description"] for e in errors), errors
    assert not Case.objects.exists()


def test_missing_attributes_are_each_named(client, key, here):
    lat, lng = here
    response = post(
        client, {"service_code": "0601", "lat": lat, "long": lng, "description": "电梯停了"}
    )
    assert response.status_code == 400
    described = " ".join(e["description"] for e in errors_of(response))
    assert "attribute[trapped]" in described
    assert len(errors_of(response)) == 1  # unit_no is optional


def test_unknown_service_code_on_post_is_404(client, key, here):
    lat, lng = here
    response = post(client, {"service_code": "9999", "lat": lat, "long": lng, "description": "x"})
    assert response.status_code == 404 and "9999" in errors_of(response)[0]["description"]


def test_malformed_bodies_are_refused_never_500(client, key):
    response = client.post(
        BASE + "requests.json", data=b'{"service_code": "0101"}', content_type="application/json"
    )
    assert response.status_code == 400 and errors_of(response)
    response = client.post(
        BASE + "requests.xml",
        data=b"api_key=%ff%fe&service_code=%E0%A4",
        content_type="application/x-www-form-urlencoded",
    )
    # Bytes that decode to no text are no key at all: 403, as for any wrong key.
    assert response.status_code == 403, response.content
    assert "api_key" in errors_of(response)[0]["description"]
    response = client.post(
        BASE + "requests.json",
        data=b"--x\r\nbroken",
        content_type="multipart/form-data; boundary=x",
    )
    # A body that does not parse carries no key either: the key check answers first.
    assert response.status_code == 403, response.content
    assert "缺少 api_key" in errors_of(response)[0]["description"]
    response = client.post(
        BASE + "requests.json",
        data=b"api_key=" + KEY.encode() + b"&a=%00",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400 and errors_of(response)  # NUL: shared middleware
    response = client.delete(BASE + "requests.json")
    assert response.status_code == 405 and errors_of(response)
    assert not Case.objects.exists()


def test_idempotency_key_is_honoured(client, key, here):
    lat, lng = here
    data = {"service_code": "0102", "lat": lat, "long": lng, "description": "重试"}
    one = post(client, data, **{"Idempotency-Key": "retry-1"})
    two = post(client, data, **{"Idempotency-Key": "retry-1"})
    assert one.status_code == two.status_code == 201
    assert one.content == two.content and two["Idempotent-Replayed"] == "true"
    assert Case.objects.filter(category__code="0102").count() == 1
    reused = post(client, {**data, "description": "别的"}, **{"Idempotency-Key": "retry-1"})
    assert reused.status_code == 422 and errors_of(reused)[0]["code"] == 422
    bad = post(client, data, path="requests.xml", **{"Idempotency-Key": "x" * 300})
    assert bad.status_code == 400 and errors_of(bad)[0]["code"] == 400


def test_oversized_request_is_a_spec_error(client, key, settings):
    settings.SHEQU_MAX_REQUEST_BYTES = 1000
    response = post(client, {"description": "x" * 2000}, path="requests.xml")
    assert response.status_code == 413 and errors_of(response)[0]["code"] == 413


# --- GET requests --------------------------------------------------------------------------


def test_requests_fields_and_privacy(client, key, here, persona):
    response = submit(
        client,
        here,
        first_name="小明",
        last_name="王",
        phone="13812345678",
        email="wang@example.org",
        description="门口垃圾很多，联系我 13987654321，身份证 32118119900101123X",
    )
    code = response.json()[0]["service_request_id"]
    case = Case.objects.get(code=code)
    body = client.get(BASE + "requests.json").json()
    check_official("requests", body)
    (row,) = [r for r in body if r["service_request_id"] == code]
    assert row["status"] == "open"
    assert row["service_code"] == "0101" and row["service_name"] == "暴露垃圾"
    assert row["agency_responsible"].endswith("网格") and "社区" in row["agency_responsible"]
    assert row["expected_datetime"] == timezone.localtime(case.due_at).isoformat(timespec="seconds")
    assert row["requested_datetime"].endswith("+08:00")
    assert row["lat"] == pytest.approx(here[0], abs=1e-5)
    assert row["long"] == pytest.approx(here[1], abs=1e-5)
    assert "139****4321" in row["description"] and "3211**********123X" in row["description"]
    for endpoint in (
        "requests.json",
        "requests.xml",
        f"requests/{code}.json",
        "servicerequestupdates.json",
    ):
        text = client.get(BASE + endpoint).content.decode()
        for secret in (
            "小明",
            "13812345678",
            "wang@example.org",
            "13987654321",
            "32118119900101123X",
        ):
            assert secret not in text, (endpoint, secret)


def test_request_xml_element_by_element(client, key, here):
    code = submit(client, here, media_url="https://example.org/a.jpg").json()[0][
        "service_request_id"
    ]
    root = xml(client.get(BASE + f"requests/{code}.xml"))
    assert root.tag == "service_requests"
    (request,) = root.findall("request")
    assert [child.tag for child in request] == [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ]
    assert request.findtext("service_request_id") == code
    assert request.findtext("status") == "open"
    assert request.findtext("media_url") == "https://example.org/a.jpg"
    assert float(request.findtext("lat")) == pytest.approx(here[0], abs=1e-5)


def test_markup_is_escaped_in_json_and_xml(client, key, here):
    attack = '<script>alert("x")</script>&<b>'
    code = submit(client, here, description=attack).json()[0]["service_request_id"]
    response = client.get(BASE + f"requests/{code}.xml")
    assert b"<script>" not in response.content and b"&lt;script&gt;" in response.content
    assert xml(response).find("request").findtext("description") == attack
    response = client.get(BASE + f"requests/{code}.json")
    assert response["Content-Type"].startswith("application/json")
    assert response.json()[0]["description"] == attack
    assert response["X-Content-Type-Options"] == "nosniff"


def test_control_characters_do_not_break_the_xml(client, key, here):
    code = submit(client, here, description="垃圾\x0b堆放\x01").json()[0]["service_request_id"]
    root = xml(client.get(BASE + f"requests/{code}.xml"))
    assert root.find("request").findtext("description") == "垃圾堆放"


def test_private_groups_show_status_only(client, key, here):
    lat, lng = here
    response = post(
        client,
        {"service_code": "0701", "lat": lat, "long": lng, "description": "楼上邻居张三天天吵架"},
    )
    code = response.json()[0]["service_request_id"]
    (row,) = client.get(BASE + f"requests/{code}.json").json()
    assert row["status"] == "open" and row["service_code"] == "0701"
    assert row["description"] is None and row["lat"] is None and row["address"] is None
    text = client.get(BASE + "servicerequestupdates.json").content.decode()
    assert "张三" not in text


def test_filters(client, key, here, persona):
    lat, lng = here
    a = submit(client, here).json()[0]["service_request_id"]
    b = post(
        client, {"service_code": "0102", "lat": lat, "long": lng, "description": "路面脏"}
    ).json()[0]["service_request_id"]
    c = post(
        client, {"service_code": "0102", "lat": lat, "long": lng, "description": "又脏了"}
    ).json()[0]["service_request_id"]
    drive(Case.objects.get(code=c), Status.CLOSED, persona)

    def codes(**params):
        response = client.get(BASE + "requests.json", params)
        assert response.status_code == 200, response.content
        return {r["service_request_id"] for r in response.json()}

    assert codes() == {a, b, c}
    assert codes(service_code="0102") == {b, c}
    assert codes(service_code="0101,0102") == {a, b, c}
    assert codes(status="open") == {a, b}
    assert codes(status="closed") == {c}
    assert codes(service_request_id=f"{a},{c}") == {a, c}
    # service_request_id overrides the other filters
    assert codes(service_request_id=a, service_code="0102", status="closed") == {a}
    now = timezone.localtime()
    assert codes(start_date=(now - dt.timedelta(days=1)).isoformat()) == {a, b, c}
    assert codes(end_date=(now - dt.timedelta(days=1)).isoformat()) == set()
    assert len(codes(page_size=2)) == 2 and len(codes(page=2, page_size=2)) == 1
    assert codes(page=3, page_size=2) == set()


def test_default_window_is_90_days(client, key, here):
    old = submit(client, here).json()[0]["service_request_id"]
    Case.objects.filter(code=old).update(reported_at=timezone.now() - dt.timedelta(days=91))
    new = submit(client, here).json()[0]["service_request_id"]
    listed = {r["service_request_id"] for r in client.get(BASE + "requests.json").json()}
    assert listed == {new}
    by_id = client.get(BASE + "requests.json", {"service_request_id": old}).json()
    assert [r["service_request_id"] for r in by_id] == [old]


BAD_QUERIES = {
    "span over 90 days": {
        "start_date": "2026-01-01T00:00:00+08:00",
        "end_date": "2026-06-01T00:00:00+08:00",
    },
    "end before start": {
        "start_date": "2026-06-01T00:00:00+08:00",
        "end_date": "2026-05-01T00:00:00+08:00",
    },
    "invalid date": {"start_date": "yesterday"},
    "invalid end date": {"end_date": "2026-13-45T99:00:00+08:00"},
    "date at the start of time": {"end_date": "0001-01-01T00:00:00"},
    "date at the end of time": {"start_date": "9999-12-31T23:59:59+08:00"},
    "bad status": {"status": "pending"},
    "bad page": {"page": "zero"},
    "page size too big": {"page_size": "5000"},
    "page zero": {"page": "0"},
    "huge id list": {"service_request_id": ",".join(["X"] * 1001)},
    "overlong id": {"service_request_id": "A" * 50},
    "huge number": {"page": "9" * 30},
}


@pytest.mark.parametrize("name", list(BAD_QUERIES))
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_queries_are_400(client, name, fmt):
    response = client.get(BASE + f"requests.{fmt}", BAD_QUERIES[name])
    assert response.status_code == 400, response.content
    assert errors_of(response)[0]["code"] == 400


def test_unknown_service_code_filter_and_request_are_404(client):
    assert client.get(BASE + "requests.json", {"service_code": "0101,7777"}).status_code == 404
    for path in (
        "requests/NOPE.json",
        "requests/NOPE.xml",
        "tokens/NOPE.json",
        "requests/" + "9" * 30 + ".json",
    ):
        response = client.get(BASE + path)
        assert response.status_code == 404 and errors_of(response), path


def test_tokens(client, key, here):
    code = submit(client, here).json()[0]["service_request_id"]
    assert client.get(BASE + f"tokens/{code}.json").json() == [
        {"service_request_id": code, "token": code}
    ]
    root = xml(client.get(BASE + f"tokens/{code}.xml"))
    assert root.find("request/token").text == code


# --- status changes and updates (FixMyStreet extension) --------------------------------------


def test_status_and_updates_follow_the_closed_loop(client, key, here, persona):
    code = submit(client, here).json()[0]["service_request_id"]
    case = Case.objects.get(code=code)

    def statuses():
        body = client.get(BASE + "servicerequestupdates.json", {"service_request_id": code}).json()
        return [u["status"] for u in body]

    assert statuses() == ["OPEN", "INVESTIGATING", "ACTION_SCHEDULED"]
    drive(case, Status.HANDLED, persona)
    assert statuses()[-2:] == ["IN_PROGRESS", "IN_PROGRESS"]
    (row,) = client.get(BASE + f"requests/{code}.json").json()
    assert row["status"] == "open" and row["status_notes"] == "已清理完毕"
    drive(Case.objects.get(pk=case.pk), Status.CLOSED, persona)
    (row,) = client.get(BASE + f"requests/{code}.json").json()
    assert row["status"] == "closed"
    assert statuses()[-1] == "FIXED"
    updates = client.get(BASE + "servicerequestupdates.json", {"service_request_id": code}).json()
    assert all(u["service_request_id"] == code for u in updates)
    assert len({u["update_id"] for u in updates}) == len(updates)


def test_void_and_merge_map_to_extended_statuses(client, key, here, persona):
    a = Case.objects.get(code=submit(client, here).json()[0]["service_request_id"])
    lat, lng = here
    b = Case.objects.get(
        code=post(
            client, {"service_code": "1001", "lat": lat, "long": lng, "description": "咨询"}
        ).json()[0]["service_request_id"]
    )
    drive(b, Status.VOIDED, persona)
    merged = drive(Case.objects.get(pk=a.pk), Status.MERGED, persona)
    body = client.get(BASE + "servicerequestupdates.json").json()
    last = {}
    for update in body:
        last[update["service_request_id"]] = update["status"]
    assert last[b.code] == "NO_FURTHER_ACTION" and last[merged.code] == "DUPLICATE"
    rows = client.get(BASE + "requests.json", {"service_request_id": f"{a.code},{b.code}"})
    assert {r["status"] for r in rows.json()} == {"closed"}


def test_updates_xml(client, key, here):
    code = submit(client, here).json()[0]["service_request_id"]
    root = xml(client.get(BASE + "servicerequestupdates.xml", {"service_request_id": code}))
    assert root.tag == "service_request_updates"
    update = root.find("request_update")
    assert [c.tag for c in update] == [
        "update_id",
        "service_request_id",
        "status",
        "updated_datetime",
        "description",
        "media_url",
    ]
    assert update.findtext("status") == "OPEN"


def test_post_update_needs_the_permission(client, key, here):
    code = submit(client, here).json()[0]["service_request_id"]
    make_key(name="reader", key="reader-key-123")
    response = post(
        client,
        {"api_key": "reader-key-123", "service_request_id": code, "description": "仍未清理"},
        path="servicerequestupdates.json",
    )
    assert response.status_code == 403 and errors_of(response)
    response = post(
        client,
        {"api_key": None, "service_request_id": code, "description": "仍未清理"},
        path="servicerequestupdates.xml",
    )
    assert response.status_code == 403 and errors_of(response)[0]["code"] == 403


def test_post_update_appends_a_public_note(client, key, here):
    code = submit(client, here).json()[0]["service_request_id"]
    status_before = Case.objects.get(code=code).status
    response = post(
        client,
        {
            "service_request_id": code,
            "status": "open",
            "description": "居民说还没清理 <b>",
            "update_id": "fms-1",
            "media_url": "https://example.org/u.jpg",
        },
        path="servicerequestupdates.xml",
    )
    assert response.status_code == 201, response.content
    update_id = xml(response).find("request_update/update_id").text
    event = CaseEvent.objects.get(pk=int(update_id))
    assert event.public and event.note == "居民说还没清理 <b>"
    assert event.actor_name == "open311:tests" and event.data["external_id"] == "fms-1"
    assert Case.objects.get(code=code).status == status_before  # notes never change status
    updates = client.get(BASE + "servicerequestupdates.json", {"service_request_id": code}).json()
    assert updates[-1]["update_id"] == update_id
    assert updates[-1]["description"] == "居民说还没清理 <b>"
    assert updates[-1]["media_url"] == "https://example.org/u.jpg"
    (row,) = client.get(BASE + f"requests/{code}.json").json()
    assert row["status_notes"] == "居民说还没清理 <b>"


BAD_UPDATES = {
    "no request": ({"service_request_id": None}, 400),
    "unknown request": ({"service_request_id": "NOPE"}, 404),
    "no description": ({"description": ""}, 400),
    "bad status": ({"status": "SOLVED_BY_MAGIC"}, 400),
    "bad media": ({"media_url": "ftp://x"}, 400),
    "long description": ({"description": "长" * 4001}, 400),
}


@pytest.mark.parametrize("name", list(BAD_UPDATES))
def test_bad_updates(client, key, here, name):
    code = submit(client, here).json()[0]["service_request_id"]
    changes, status = BAD_UPDATES[name]
    data = {"service_request_id": code, "description": "进展", **changes}
    before = CaseEvent.objects.count()
    response = post(client, data, path="servicerequestupdates.json")
    assert response.status_code == status and errors_of(response)
    assert CaseEvent.objects.count() == before


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "bad"},
        {"page_size": "0"},
        {"start_date": "2026-01-01", "end_date": "2026-12-01"},
    ],
)
def test_bad_update_queries(client, params):
    response = client.get(BASE + "servicerequestupdates.json", params)
    assert response.status_code == 400 and errors_of(response)


# --- the management command, demo key, banner, admin, page, OpenAPI ---------------------------


def test_open311_key_command(client, here):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "open311_key",
        "create",
        "bench",
        "--key",
        "bench-key-12345",
        "--rate-limit",
        "6000",
        "--can-post-updates",
        stdout=out,
    )
    assert out.getvalue().strip() == "bench-key-12345"
    row = ApiKey.objects.get(name="bench")
    assert row.rate_limit == 6000 and row.can_post_updates
    lat, lng = here
    data = {
        "api_key": "bench-key-12345",
        "service_code": "0102",
        "lat": lat,
        "long": lng,
        "description": "路面脏",
    }
    assert post(client, data).status_code == 201
    out = StringIO()
    call_command("open311_key", "create", "random", stdout=out)
    assert out.getvalue().strip().startswith("o311_")
    out = StringIO()  # run again: idempotent, updates the limit
    call_command(
        "open311_key",
        "create",
        "bench",
        "--key",
        "bench-key-12345",
        "--rate-limit",
        "9000",
        stdout=out,
    )
    assert out.getvalue().strip() == "bench-key-12345"
    row.refresh_from_db()
    assert row.rate_limit == 9000 and not row.can_post_updates
    call_command("open311_key", "revoke", "bench", stdout=StringIO())
    assert post(client, data).status_code == 403
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("open311_key", "create", "random", stdout=StringIO())
    with pytest.raises(CommandError):  # same name, another key
        call_command("open311_key", "create", "random", "--key", "other-key-123", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("open311_key", "revoke", "nobody", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("open311_key", "create", "x", "--key", "short", stdout=StringIO())


def test_demo_key_and_banner(client, settings, here):
    from io import StringIO

    from django.core.management import call_command

    from shequ.open311.demo import ensure_demo_key

    settings.SHEQU_DEMO_OPEN311_KEY = "custom-demo-key"
    row = ensure_demo_key()
    assert ensure_demo_key() == row  # idempotent
    assert row.rate_limit >= 10_000 and row.can_post_updates
    lat, lng = here
    response = post(
        client,
        {
            "api_key": "custom-demo-key",
            "service_code": "0102",
            "lat": lat,
            "long": lng,
            "description": "路面脏",
        },
    )
    assert response.status_code == 201
    out = StringIO()
    call_command("demo_banner", "--port", "8123", stdout=out)
    assert "custom-demo-key" in out.getvalue()
    assert "http://127.0.0.1:8123/open311/" in out.getvalue()


def test_admin_creates_a_hashed_key_shown_once(client_as):
    admin = client_as("admin")
    response = admin.post(
        "/admin/open311/apikey/add/",
        {"name": "city-crm", "contact": "市 12345", "rate_limit": "120"},
        follow=True,
    )
    assert response.status_code == 200
    row = ApiKey.objects.get(name="city-crm")
    shown = [str(m) for m in response.context["messages"]]
    (message,) = [m for m in shown if "仅显示" in m]
    plaintext = message.rsplit("：", 1)[-1].strip()
    from shequ.open311.keys import api_key_authenticate

    assert api_key_authenticate(plaintext) == row and plaintext not in row.key_hash
    admin.post("/admin/open311/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    assert api_key_authenticate(plaintext) is None


def test_page_in_chinese_and_english(client):
    response = client.get("/open311/")
    text = response.content.decode()
    assert response.status_code == 200 and "Open311 GeoReport v2 接口" in text
    assert text.count("curl -fsS") >= 10
    english = client.get("/open311/", headers={"Accept-Language": "en"}).content.decode()
    assert "Open311 GeoReport v2 endpoint" in english and "Examples" in english


def test_openapi_description(client):
    body = client.get(BASE + "openapi.json").json()
    assert body["openapi"].startswith("3.")
    paths = set(body["paths"])
    for resource in ("discovery", "services", "requests", "servicerequestupdates"):
        assert f"/open311/v2/{resource}.{{format}}" in paths
    assert "/open311/v2/services/{service_code}.{format}" in paths
    assert "/open311/v2/tokens/{token}.{format}" in paths
    assert "post" in body["paths"]["/open311/v2/requests.{format}"]
