"""The cockpit (驾驶舱): same numbers as the closed-loop selector, filters and bad input, scope,
query counts, xlsx export, the 指标说明 page and the API."""

import datetime as dt
import io

import openpyxl
import pytest
from django.utils import timezone

from shequ.analytics.definitions import DEFINITIONS, KPI_KEYS
from shequ.analytics.filters import parse_filters
from shequ.cases.indicators import indicators
from shequ.core.models import AuditEvent
from shequ.geo.models import Region
from tests.support.analytics import assert_close, random_cases, reference

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]

START = dt.date(2026, 10, 1)
END = dt.date(2026, 10, 31)
CUSTOM = {"period": "custom", "from": START.isoformat(), "to": END.isoformat()}


@pytest.fixture
def grids(world):
    """Two grids of the flagship community, one of another community of the same township and
    one of the other township."""
    flagship = [world["grid_a"], world["grid_b"]]
    same_township = (
        Region.objects.filter(level="grid", code__startswith=world["township"])
        .exclude(code__startswith=world["community"])
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    other = (
        Region.objects.filter(level="grid", code__startswith=world["other_township"])
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    return [g for g in (*flagship, same_township, other) if g]


@pytest.fixture
def random_world(grids):
    random_cases(grids, n=160, seed=7, start=dt.date(2026, 9, 20), days=50)
    return grids


# --- same numbers as the selector on raw rows -------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_selector_matches_row_by_row_reference_on_random_data(grids, world, seed):
    random_cases(grids, n=120, seed=seed, start=dt.date(2026, 9, 25), days=45)
    now = timezone.now()
    for region in (world["city"], world["township"], world["community"], grids[0]):
        result = indicators(region=region, start=START, end=END, now=now).as_dict()
        assert_close(result, reference(region, START, END, now))
    result = indicators(region=world["city"], start=START, end=END, category="01", now=now)
    assert_close(result.as_dict(), reference(world["city"], START, END, now, category="01"))


def test_cockpit_numbers_equal_the_selector(random_world, world, client_as):
    response = client_as("city").get("/analytics/", {**CUSTOM, "region": world["city"]})
    assert response.status_code == 200
    now = timezone.now()
    expected = indicators(region=world["city"], start=START, end=END, now=now)
    kpis = {k["key"]: k["value"] for k in response.context["kpis"]}
    assert list(kpis) == list(KPI_KEYS)
    for key in KPI_KEYS:
        assert kpis[key] == getattr(expected, key), key
    assert_close(
        kpis, {k: v for k, v in reference(world["city"], START, END, now).items() if k in kpis}
    )
    # the township ranking equals the selector grouped by township
    rank = next(r for r in response.context["rankings"] if r["table"].id == "rank-township")
    by_township = {
        r.key: r
        for r in indicators(
            region=world["city"], start=START, end=END, group_by="township", now=now
        )
    }
    assert {row["_code"] for row in rank["table"].rows} == set(by_township)
    for row in rank["table"].rows:
        assert row["on_time_rate"] == by_township[row["_code"]].on_time_rate
        assert row["satisfaction_rate"] == by_township[row["_code"]].satisfaction_rate
    # rankings are ordered by 按期结案率, no-data last (units below the minimum sample after)
    rates = [row["on_time_rate"] for row in rank["table"].rows if isinstance(row["rank"], int)]
    present = [r for r in rates if r is not None]
    assert present == sorted(present, reverse=True)
    assert rates[: len(present)] == present
    # map values are the selector by grid
    values = response.context["chart_data"]["map"]["values"]
    by_grid = indicators(region=world["city"], start=START, end=END, group_by="grid", now=now)
    assert values == {
        r.key: {"value": r.on_time_rate, "text": values[r.key]["text"]} for r in by_grid
    }


def test_api_numbers_equal_the_selector(random_world, world, api_client_as):
    client = api_client_as("city")
    now = timezone.now()
    for group_by in ("township", "community", "grid", "category", "day", "week", "month"):
        response = client.get(
            "/api/v1/analytics/indicators",
            {"region": world["city"], "from": START, "to": END, "group_by": group_by},
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["from"] == START.isoformat() and body["group_by"] == group_by
        expected = indicators(
            region=world["city"], start=START, end=END, group_by=group_by, now=now
        )
        assert [g["key"] for g in body["groups"]] == [r.key for r in expected]
        for got, want in zip(body["groups"], expected, strict=True):
            assert_close(got, {k: v for k, v in want.as_dict().items() if k != "key"})
    body = client.get(
        "/api/v1/analytics/indicators",
        {"region": world["township"], "from": START, "to": END, "category": "01"},
    ).json()
    assert body["groups"] is None
    assert_close(body["total"], reference(world["township"], START, END, now, category="01"))


def test_api_sort_by_indicator(random_world, world, api_client_as):
    body = (
        api_client_as("city")
        .get(
            "/api/v1/analytics/indicators",
            {"from": START, "to": END, "group_by": "community", "sort": "satisfaction_rate"},
        )
        .json()
    )
    rates = [g["satisfaction_rate"] for g in body["groups"] if g["satisfaction_rate"] is not None]
    assert rates == sorted(rates, reverse=True)
    assert all(g["name"] for g in body["groups"])


def test_xlsx_export_matches_the_page_and_is_audited(random_world, world, client_as):
    client = client_as("township")
    params = {**CUSTOM, "region": world["township"]}
    page = client.get("/analytics/", params)
    response = client.get("/analytics/export.xlsx", params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert "指标说明" in book.sheetnames
    overview = book["概览"]
    values = {row[0]: row[2] for row in overview.iter_rows(min_row=2, values_only=True)}
    for kpi in page.context["kpis"]:
        assert values[kpi["label"]] == kpi["value"]
    notes = [row[0] for row in book["指标说明"].iter_rows(min_row=2, values_only=True)]
    assert all(str(d.label) in notes for d in DEFINITIONS)
    ranking = book[book.sheetnames[1]]
    header = [c.value for c in ranking[1]]
    assert header[:2] == ["名次", "社区/村"]
    first = page.context["rankings"][0]["table"].rows
    exported = list(ranking.iter_rows(min_row=2, values_only=True))
    assert len(exported) == len(first)
    assert [r[1] for r in exported] == [row["name"] for row in first]
    event = AuditEvent.objects.filter(action="analytics.export").latest("id")
    assert event.actor.username == "township" and event.region_code == world["township"]


# --- filters, drill-down, layouts --------------------------------------------------------------


def test_filters_come_from_the_url(world, persona):
    today = dt.date(2026, 11, 27)  # a Friday
    user = persona("city")
    week = parse_filters(user, {"period": "week"}, today=today)
    assert (week.start, week.end) == (dt.date(2026, 11, 23), today)
    quarter = parse_filters(user, {"period": "quarter"}, today=today)
    assert quarter.start == dt.date(2026, 10, 1)
    year = parse_filters(user, {"period": "year"}, today=today)
    assert year.start == dt.date(2026, 1, 1) and year.trend == "week"
    custom = parse_filters(
        user, {"from": "2026-01-01", "to": "2026-06-30", "category": "01"}, today=today
    )
    assert custom.period == "custom" and custom.category == "01" and custom.trend == "week"
    assert "from=2026-01-01" in custom.query() and "category=01" in custom.query()
    assert parse_filters(user, {}, today=today).region == world["city"]
    assert parse_filters(persona("township"), {}, today=today).region == world["township"]


def test_drill_down_links_township_community_grid_cases(random_world, world, client_as):
    client = client_as("city")
    city = client.get("/analytics/", {**CUSTOM})
    content = city.content.decode()
    assert f"region={world['township']}" in content
    township = client.get("/analytics/", {**CUSTOM, "region": world["township"]})
    assert f"region={world['community']}" in township.content.decode()
    community = client.get("/analytics/", {**CUSTOM, "region": world["community"]})
    assert f"region={world['grid_a']}" in community.content.decode()
    grid = client.get("/analytics/", {**CUSTOM, "region": world["grid_a"]})
    assert grid.context["grid_cases"] is not None
    html = grid.content.decode()
    assert f"/cases/?region={world['grid_a']}" in html
    for case in grid.context["grid_cases"]:
        assert case.region_code == world["grid_a"]
        assert f"/cases/{case.pk}/" in html
    listing = client.get("/cases/", {"region": world["grid_a"]})
    codes = {c.region_code for c in listing.context["cases"]}
    assert codes <= {world["grid_a"]}


def test_big_screen_layout_and_definitions_page(world, client_as):
    client = client_as("city")
    big = client.get("/analytics/", {"screen": "big"})
    assert 'class="cockpit-page cockpit-big"' in big.content.decode()
    desktop = client.get("/analytics/")
    assert "cockpit-big" not in desktop.content.decode().split("<body", 1)[1].split(">", 1)[0]
    page = client.get("/analytics/indicators/")
    html = page.content.decode()
    for d in DEFINITIONS:
        assert str(d.label) in html and str(d.formula) in html and str(d.source) in html
    assert "CJ/T 292" in html


def test_nav_shows_the_cockpit_to_leaders_only(client_as):
    assert "/analytics/" in client_as("city").get("/").content.decode()
    assert "/analytics/" in client_as("township").get("/").content.decode()
    assert "/analytics/" not in client_as("grid").get("/").content.decode()


def test_query_count_is_pinned(random_world, world, client_as, django_assert_max_num_queries):
    client = client_as("city")
    client.get("/analytics/", {**CUSTOM})  # warm the session and caches
    with django_assert_max_num_queries(21):
        assert client.get("/analytics/", {**CUSTOM}).status_code == 200
    with django_assert_max_num_queries(18):
        assert client.get("/analytics/", {**CUSTOM, "region": world["grid_a"]}).status_code == 200
    with django_assert_max_num_queries(8):
        response = client.get(
            "/api/v1/analytics/indicators",
            {"from": START, "to": END, "group_by": "community"},
        )
        assert response.status_code == 200


# --- bad input ---------------------------------------------------------------------------------

BAD = [
    ({"period": "custom", "from": "2026-10-31", "to": "2026-10-01"}, "invalid_period"),
    ({"period": "custom", "from": "2026-13-01", "to": "2026-10-01"}, "invalid_date"),
    ({"period": "custom", "from": "1900-01-01", "to": "2026-10-01"}, "invalid_period"),
    ({"period": "custom", "from": "2010-01-01", "to": "2026-10-01"}, "invalid_period"),
    ({"period": "custom", "from": "2026-10-01"}, "invalid_period"),
    ({"period": "decade"}, "invalid_period"),
    ({"indicator": "happiness"}, "invalid_indicator"),
    ({"trend": "hour"}, "invalid_group_by"),
    ({"rank": "rework_rate"}, "invalid_indicator"),
    ({"category": "9999"}, "invalid_category"),
    ({"region": "32118"}, "invalid_region_code"),
    ({"region": "abc"}, "invalid_region_code"),
]


@pytest.mark.parametrize(("params", "code"), BAD)
def test_bad_filters_on_the_page_are_400_in_chinese(client_as, params, code):
    response = client_as("city").get("/analytics/", params)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-code="{code}"' in html and "筛选条件有误" in html
    assert client_as("city").get("/analytics/export.xlsx", params).status_code == 400


API_BAD = [
    ({"from": "2026-10-31", "to": "2026-10-01"}, "invalid_period", "to"),
    ({"from": "31.10.2026", "to": "2026-11-01"}, "invalid_date", "from"),
    ({"from": "0001-01-01", "to": "2026-11-01"}, "invalid_period", "from"),
    ({"from": "2026-10-01"}, "invalid_period", "to"),
    ({"group_by": "street"}, "invalid_group_by", "group_by"),
    ({"sort": "happiness"}, "invalid_indicator", "sort"),
    ({"category": "xx"}, "invalid_category", "category"),
    ({"region": "12"}, "invalid_region_code", "region"),
]


@pytest.mark.parametrize(("params", "code", "field"), API_BAD)
def test_bad_input_to_the_api_is_structured_400(api_client_as, params, code, field):
    response = api_client_as("city").get("/api/v1/analytics/indicators", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and body["details"]["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


# --- scope ---------------------------------------------------------------------------------------


def test_township_a_cannot_see_township_b(random_world, world, client_as, api_client_as):
    page = client_as("township").get("/analytics/", {"region": world["other_township"]})
    assert page.status_code == 404
    assert client_as("township").get("/analytics/", {"region": world["city"]}).status_code == 404
    api = api_client_as("township").get(
        "/api/v1/analytics/indicators", {"region": world["other_township"]}
    )
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    export = client_as("township").get(
        "/analytics/export.xlsx", {"region": world["other_township"]}
    )
    assert export.status_code == 404
    # its own cockpit only holds its own township's regions and cases
    own = client_as("township").get("/analytics/", {**CUSTOM})
    assert own.context["f"].region == world["township"]
    for ranking in own.context["rankings"]:
        assert all(row["_code"].startswith(world["township"]) for row in ranking["table"].rows)
    assert all(c.region_code.startswith(world["township"]) for c in own.context["red_cases"])
    assert all(k.startswith(world["township"]) for k in own.context["chart_data"]["map"]["values"])


def test_community_staff_is_limited_to_its_community(world, client_as):
    client = client_as("community")
    assert client.get("/analytics/", {"region": world["township"]}).status_code == 404
    assert client.get("/analytics/").context["f"].region == world["community"]


def test_people_without_the_indicator_permission_get_404(client_as, api_client_as):
    for username in ("grid", "resident", "property"):
        assert client_as(username).get("/analytics/").status_code == 404
        assert api_client_as(username).get("/api/v1/analytics/indicators").status_code == 404


def test_anonymous_is_sent_to_login(client):
    response = client.get("/analytics/")
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.get("/api/v1/analytics/indicators").status_code == 401


def test_openapi_documents_the_endpoint(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/analytics/indicators" in paths
    params = {p["name"] for p in paths["/api/v1/analytics/indicators"]["get"]["parameters"]}
    assert {"region", "from", "to", "category", "group_by"} <= params


def test_category_group_filter_on_the_page(random_world, world, client_as):
    response = client_as("city").get("/analytics/", {**CUSTOM, "category": "01"})
    assert response.status_code == 200
    expected = indicators(region=world["city"], start=START, end=END, category="01")
    kpis = {k["key"]: k["value"] for k in response.context["kpis"]}
    assert all(kpis[key] == getattr(expected, key) for key in KPI_KEYS)
    category_rows = response.context["category_table"].rows
    assert category_rows and all(row["_code"].startswith("01") for row in category_rows)
    assert "category=01" in response.context["query"]


def test_red_cases_are_open_cases_past_their_step_deadline(world, client_as):
    from shequ.cases.models import Case, Category

    now = timezone.now()
    category = Category.objects.get(code="0101")

    def make(code, grid, step_due):
        return Case.objects.create(
            code=code,
            category=category,
            channel="resident",
            status="accepted",
            priority="normal",
            description="红灯测试",
            region_code=grid,
            handler_type="grid",
            handler_unit_code=grid,
            reported_at=now - dt.timedelta(days=3),
            registered_at=now - dt.timedelta(days=3),
            dispatched_at=now - dt.timedelta(days=3),
            due_at=step_due,
            step="handle",
            step_due_at=step_due,
        )

    late = make("RED0001", world["grid_a"], now - dt.timedelta(hours=5))
    later = make("RED0002", world["grid_b"], now - dt.timedelta(days=2))
    make("RED0003", world["grid_a"], now + dt.timedelta(hours=5))
    make("RED0004", "321181002001001", now - dt.timedelta(hours=1))
    red = client_as("township").get("/analytics/").context["red_cases"]
    assert [c.code for c in red] == [later.code, late.code]


def test_rankings_by_satisfaction(random_world, world, client_as):
    response = client_as("city").get("/analytics/", {**CUSTOM, "rank": "satisfaction_rate"})
    for ranking in response.context["rankings"]:
        assert "满意率" in str(ranking["table"].title)
        rates = [
            row["satisfaction_rate"]
            for row in ranking["table"].rows
            if isinstance(row["rank"], int)
        ]
        present = [r for r in rates if r is not None]
        assert present == sorted(present, reverse=True) and rates[: len(present)] == present
    assert "rank=satisfaction_rate" in response.context["query"]


# --- result cache -----------------------------------------------------------------------------


def test_cached_results_are_the_selectors_and_expire(random_world, world, api_client_as, settings):
    """With SHEQU_COCKPIT_CACHE_SECONDS the cockpit and its API share the selector's result for
    that long; a fixed clock bypasses the cache; clearing it (or expiry) shows new rows."""
    from django.core.cache import cache

    from shequ.analytics.selectors import cockpit_indicators

    settings.SHEQU_COCKPIT_CACHE_SECONDS = 60
    cache.clear()
    args = {"region": world["city"], "start": START, "end": END}
    first = cockpit_indicators(**args)
    assert first == indicators(**args)
    random_cases(random_world, n=20, seed=99, start=START, days=10)
    fresh = indicators(**args)
    assert fresh.reports == first.reports + 20
    assert cockpit_indicators(**args) == first  # kept
    assert cockpit_indicators(**args, now=timezone.now()).reports == fresh.reports  # fixed clock
    body = (
        api_client_as("city")
        .get("/api/v1/analytics/indicators", {"region": world["city"], "from": START, "to": END})
        .json()
    )
    assert body["total"]["reports"] == first.reports  # the API reads the same cached result
    cache.clear()
    assert cockpit_indicators(**args).reports == fresh.reports
    settings.SHEQU_COCKPIT_CACHE_SECONDS = 0
    random_cases(random_world, n=5, seed=98, start=START, days=10)
    assert cockpit_indicators(**args).reports == fresh.reports + 5  # no cache: always raw rows


@pytest.mark.parametrize("minimum", [1, 10, 40])
def test_units_below_the_minimum_sample_are_not_ranked(random_world, client_as, minimum):
    """SHEQU_RANKING_MIN_CASES (default 10): a unit whose ranking indicator rests on fewer cases
    (按期结案率: 应结案数; 满意率: 有效回访数) shows 样本不足 instead of a place, after the ranked."""
    from django.conf import settings
    from django.test import override_settings

    assert settings.SHEQU_RANKING_MIN_CASES == 10  # the labelled default
    with override_settings(SHEQU_RANKING_MIN_CASES=minimum):
        for rank_by in ("on_time_rate", "satisfaction_rate"):
            response = client_as("city").get("/analytics/", {**CUSTOM, "rank": rank_by})
            for ranking in response.context["rankings"]:
                rows = ranking["table"].rows
                ranked = [r for r in rows if isinstance(r["rank"], int)]
                few = [r for r in rows if not isinstance(r["rank"], int)]
                assert all(r["_sample"] >= minimum for r in ranked)
                assert all(r["_sample"] < minimum and r["rank"] == "样本不足" for r in few)
                assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
                assert rows == ranked + few
                shown = [row["cells"][0] for row in ranking["rows"]]
                assert shown.count("样本不足") == len(few)
    if minimum == 40:
        assert few, "the random world has units below 40 cases"
