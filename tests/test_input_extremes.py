"""Extreme input is a 400 with a code, never a 500 (issue 12.4), and an empty body is `{}` (12.9).

- Dates: `GET /api/v1/cases?from=0001-01-01` raised OverflowError (midnight of 0001-01-01 in
  Asia/Shanghai is before the first UTC instant Python can hold). A property test feeds extreme
  values to every date and range parameter of the API, found in /api/v1/openapi.json.
- JSON nested 20,000 levels deep raised RecursionError; the middleware and the API's parser
  refuse bodies nested deeper than MAX_JSON_DEPTH with 400 `body_too_deep`.
- A POST whose body fields all have defaults accepts an empty (zero-byte) body.
"""

import json

import pytest
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shequ.api import DepthCheckedParser, api
from shequ.core.errors import InvalidInput
from shequ.core.sanitize import MAX_JSON_DEPTH, json_loads, json_too_deep
from tests.support.cases import report
from tests.support.factories import give_points, make_person

pytestmark = pytest.mark.django_db

DEEP = 20_000


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["message"]
    if code:
        assert body["code"] == code, body
    return body


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
@pytest.mark.parametrize("name", ["from", "to"])
def test_case_list_refuses_dates_out_of_range(api_client_as, name, value):
    response = api_client_as("city").get("/api/v1/cases", {name: value})
    body = assert_error(response, 400, "invalid_date")
    assert body["details"][0]["field"] == name
    assert body["details"][0]["type"] == "date_out_of_range"


def test_case_list_accepts_the_edges_of_the_range(api_client_as):
    client = api_client_as("city")
    assert client.get("/api/v1/cases", {"from": "1900-01-01"}).status_code == 200
    assert client.get("/api/v1/cases", {"to": "2999-12-31"}).status_code == 200


def test_malformed_date_is_invalid_date(api_client_as):
    response = api_client_as("city").get("/api/v1/cases", {"from": "2026-02-30"})
    assert_error(response, 400, "invalid_date")


def test_analytics_refuses_ancient_dates(api_client_as):
    response = api_client_as("city").get(
        "/api/v1/analytics/indicators", {"from": "0001-01-01", "to": "9999-12-31"}
    )
    assert_error(response, 400)


def test_a_page_far_beyond_the_data_is_400_not_500(api_client_as):
    """Found by the property test: page=184467440737095518 made SQLite refuse the OFFSET."""
    response = api_client_as("city").get("/api/v1/cases", {"page": "184467440737095518"})
    body = assert_error(response, 400, "validation_error")
    assert body["details"][0]["field"] == "page"


@pytest.mark.parametrize(
    "params",
    [
        {"end_date": "9999-12-31T23:59:59-12:00"},
        {"start_date": "0001-01-01T00:00:00+14:00", "end_date": "0001-01-02T00:00:00+14:00"},
        {"start_date": "0001-01-01"},
        {"end_date": "9999-12-31"},
    ],
)
@pytest.mark.parametrize("resource", ["requests.json", "servicerequestupdates.json"])
def test_open311_date_windows_at_the_ends_of_time_are_400(client, resource, params):
    response = client.get(f"/open311/v2/{resource}", params)
    assert response.status_code == 400, response.content[:200]
    assert response.json()[0]["code"] == 400


def test_overflow_anywhere_else_is_400_not_500(api_client_as, monkeypatch):
    """The safety net: an OverflowError the parameter types did not foresee."""
    from shequ.cases import selectors

    def overflow(*args, **kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(selectors, "case_search", overflow)
    assert_error(api_client_as("city").get("/api/v1/cases"), 400, "value_out_of_range")


# --- the property test over every date and range parameter --------------------------------


def _kinds(schema: dict) -> set[str]:
    members = schema.get("anyOf") or [schema]
    kinds = set()
    for member in members:
        if member.get("format") in ("date", "date-time"):
            kinds.add("date")
        if member.get("type") in ("integer", "number") or {"minimum", "maximum"} & set(member):
            kinds.add("range")
    return kinds


def _discover() -> list[tuple[str, str, str, str]]:
    """(path template, parameter name, location, kind) of every date or range parameter of a
    GET operation, from the OpenAPI description the API publishes."""
    found = []
    for path, item in api.get_openapi_schema(path_prefix="/api/v1/")["paths"].items():
        operation = item.get("get")
        if not operation:
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] not in ("query", "path"):
                continue
            for kind in sorted(_kinds(parameter.get("schema", {}))):
                found.append((path, parameter["name"], parameter["in"], kind))
    return found


PARAMETERS = _discover()

# The classic extremes, each sent to every parameter of its kind (below, without chance) …
DATE_EXTREMES = [
    "0001-01-01",
    "9999-12-31",
    "0000-00-00",
    "+10000-01-01",
    "-0001-01-01",
    "2026-02-30",
    "2026-13-01",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00",
    "99999999",
    "",
]
NUMBER_EXTREMES = [
    "inf",
    "-inf",
    "nan",
    "1e309",
    "-1e309",
    "9" * 19,
    "-" + "9" * 19,
    str(2**63),
    str(-(2**63) - 1),
    "0",
    "-1",
    "0x1f",
    "1.5",
]
# … and, by hypothesis, anything Python's dates and numbers can spell.
EXTREME_DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),  # 0001-01-01 … 9999-12-31
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(DATE_EXTREMES),
)
EXTREME_NUMBERS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(NUMBER_EXTREMES),
)


def _url(path: str, name: str, location: str, value: str) -> tuple[str, dict]:
    params = {}
    url = path
    for placeholder in [p for p in path.split("/") if p.startswith("{")]:
        filled = value if placeholder == "{" + name + "}" else "1"
        url = url.replace(placeholder, filled or "0")
    if location == "query":
        params[name] = value
    return url, params


def test_the_discovery_finds_the_known_parameters():
    """The property test below is only as good as the discovery: it must see these."""
    names = {(path, name, kind) for path, name, _loc, kind in PARAMETERS}
    assert ("/api/v1/cases", "from", "date") in names
    assert ("/api/v1/cases", "to", "date") in names
    assert ("/api/v1/analytics/indicators", "from", "date") in names
    assert ("/api/v1/cases", "page", "range") in names
    assert ("/api/v1/cases/duplicates", "lat", "range") in names
    assert ("/api/v1/people/", "limit", "range") in names


@pytest.fixture
def city_client(api_client_as):
    return api_client_as("city")


def check_answer(client, path, name, location, value) -> None:
    url, params = _url(path, name, location, value)
    response = client.get(url, params)
    assert response.status_code < 500, (url, params, response.content[:300])
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert {"code", "message", "details"} <= set(body), body


PARAMETER_IDS = [f"{kind}:{path}:{name}" for path, name, _loc, kind in PARAMETERS]


@pytest.mark.parametrize(("path", "name", "location", "kind"), PARAMETERS, ids=PARAMETER_IDS)
def test_every_date_and_range_parameter_refuses_the_classic_extremes(
    city_client, path, name, location, kind
):
    for value in DATE_EXTREMES if kind == "date" else NUMBER_EXTREMES:
        check_answer(city_client, path, name, location, value)


@pytest.mark.parametrize(("path", "name", "location", "kind"), PARAMETERS, ids=PARAMETER_IDS)
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_date_and_range_parameter_survives_extremes(
    city_client, path, name, location, kind, data
):
    value = data.draw(EXTREME_DATES if kind == "date" else EXTREME_NUMBERS, label=name)
    check_answer(city_client, path, name, location, value)


# --- JSON depth -----------------------------------------------------------------------------


def deep_array(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def deep_object(depth: int = DEEP) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def test_depth_scan():
    assert not json_too_deep(deep_array(MAX_JSON_DEPTH))
    assert json_too_deep(deep_array(MAX_JSON_DEPTH + 1))
    assert json_too_deep(deep_object())
    # Brackets inside strings (and escaped quotes) do not nest.
    assert not json_too_deep(json.dumps({"text": "[" * 500 + '\\"{' * 300}))
    assert json_too_deep('["\\"", ' + deep_array(MAX_JSON_DEPTH + 1) + "]")
    # Many brackets side by side are not deep.
    assert not json_too_deep(json.dumps([[1]] * 1000))


def test_json_loads_refuses_deep_text_and_reads_the_rest():
    with pytest.raises(InvalidInput) as caught:
        json_loads(deep_array())
    assert caught.value.code == "body_too_deep"
    assert json_loads('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    with pytest.raises(ValueError):
        json_loads("{not json")


@pytest.mark.parametrize("body", [deep_array(), deep_object()], ids=["array", "object"])
@pytest.mark.parametrize(
    "url",
    ["/api/v1/cases", "/api/v1/auth/token", "/api/v1/points/store/items/1/redeem"],
)
def test_deep_json_bodies_are_400(api_client_as, url, body):
    response = api_client_as("resident").post(url, body, content_type="application/json")
    body = assert_error(response, 400, "body_too_deep")
    assert body["details"] == {"max_depth": MAX_JSON_DEPTH}


def test_deep_json_with_an_escaped_nul_is_400(api_client_as):
    """The NUL check parses JSON bodies that mention \\u0000: it must not recurse either."""
    body = '["\\u0000",' + deep_array() + "]"
    response = api_client_as("resident").post(
        "/api/v1/cases", body, content_type="application/json"
    )
    assert_error(response, 400, "body_too_deep")


def test_deep_json_in_a_form_field_is_400(api_client_as):
    response = api_client_as("resident").post(
        "/api/v1/cases", {"category": "0101", "description": "x", "attributes": deep_object()}
    )
    assert_error(response, 400, "body_too_deep")


def test_deep_json_on_a_page_is_a_chinese_400(client):
    response = client.post("/accounts/login/", deep_array(), content_type="application/json")
    assert response.status_code == 400
    assert "嵌套层级过深" in response.content.decode()


def test_the_api_parser_checks_depth_by_itself():
    """Even a request that did not pass the middleware (the parser path on its own)."""
    request = RequestFactory().post("/api/v1/x", deep_array(), content_type="application/json")
    with pytest.raises(InvalidInput) as caught:
        DepthCheckedParser().parse_body(request)
    assert caught.value.code == "body_too_deep"


def test_a_body_beyond_djangos_memory_limit_is_still_not_a_500(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/auth/token", "[" * 5000, content_type="application/json")
    assert 400 <= response.status_code < 500


def test_ordinary_json_still_works(client):
    response = client.post(
        "/api/v1/auth/token",
        {"username": "grid", "password": "shequ-demo"},
        content_type="application/json",
    )
    assert response.status_code == 201


# --- empty bodies ---------------------------------------------------------------------------


def _raw_post(client: Client, url: str, content_type: str | None = None, **headers):
    """A POST with zero bytes of body and (by default) no Content-Type at all, like curl -X POST."""
    extra = {"CONTENT_LENGTH": "0"}
    if content_type is not None:
        extra["CONTENT_TYPE"] = content_type
    return client.generic(
        "POST", url, b"", content_type=content_type or "", headers=headers, **extra
    )


class TestEmptyBody:
    @pytest.fixture
    def item(self, persona, world):
        from shequ.points.models import Store
        from shequ.points.services import store_item_create

        person = make_person(grid_code=world["grid_a"], name="刘居民", user=persona("resident"))
        give_points(person, 100)
        store = Store.objects.create(name="丹凤社区爱心超市", region_code=world["community"])
        return store_item_create(
            actor=persona("community"),
            store=store,
            name="大米",
            price=30,
            monthly_limit=2,
            initial_stock=10,
        )

    @pytest.mark.parametrize("content_type", [None, "application/json"], ids=["none", "json"])
    def test_redeem_with_an_empty_body_uses_the_defaults(self, api_client_as, item, content_type):
        response = _raw_post(
            api_client_as("resident"),
            f"/api/v1/points/store/items/{item.pk}/redeem",
            content_type,
        )
        assert response.status_code == 201, response.content
        assert response.json()["quantity"] == 1 and response.json()["points"] == 30

    def test_the_openapi_description_says_the_body_is_optional(self, client):
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        redeem = paths["/api/v1/points/store/items/{item_id}/redeem"]["post"]
        assert redeem["requestBody"]["required"] is False
        token = paths["/api/v1/auth/token"]["post"]
        assert token["requestBody"]["required"] is True

    def test_empty_body_where_fields_are_required_names_the_fields(self, client):
        response = _raw_post(client, "/api/v1/auth/token")
        body = assert_error(response, 400, "validation_error")
        assert {d["field"] for d in body["details"]} >= {"payload.username", "payload.password"}

    @pytest.mark.usefixtures("categories")
    def test_transition_with_an_empty_body_is_a_field_error(self, api_client_as, persona, world):
        """A second endpoint whose body fields all have defaults: empty is `{}` (then the
        service says the action is missing), never `malformed_request`."""
        case = report(persona("resident"), grid=world["grid_a"])
        response = _raw_post(api_client_as("grid"), f"/api/v1/cases/{case.pk}/transitions")
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] == "validation_error", body
        assert [d["field"] for d in body["details"]] == ["action"], body

    def test_acknowledge_with_an_empty_body(self, api_client_as):
        response = _raw_post(api_client_as("city"), "/api/v1/analytics/warnings/999999/acknowledge")
        assert_error(response, 404, "not_found")

    @pytest.mark.parametrize(
        ("path", "content_type", "expected"),
        [
            ("/api/v1/x", "", b"{}"),
            ("/api/v1/x", "application/json", b"{}"),
            ("/api/v1/x", "application/x-www-form-urlencoded", b""),  # a form stays a form
            ("/login/", "", b""),  # pages are not the JSON API
        ],
    )
    def test_only_empty_api_bodies_become_the_empty_object(self, path, content_type, expected):
        from shequ.core.sanitize import JsonBodyMiddleware

        seen = {}

        def view(request):
            seen["body"] = request.body
            return None

        request = RequestFactory().generic("POST", path, b"", CONTENT_TYPE=content_type)
        JsonBodyMiddleware(view)(request)
        assert seen["body"] == expected
