"""Early warnings v1 on fixtures: weekly spikes (mean + 3σ of 8 weeks, ≥ 5), repeat locations
(≥ 3 within 30 m in 30 days), idempotent refresh, acknowledgement (service, page, API, audit),
the periodic job, scope."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from shequ.analytics import services, warnings
from shequ.analytics.models import EarlyWarning
from shequ.cases.models import Case, Category
from shequ.core import schedule
from shequ.core.errors import ConflictError
from shequ.core.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]

TODAY = dt.date(2026, 11, 25)  # a Wednesday; this week starts 11-23
NOW = timezone.make_aware(dt.datetime(2026, 11, 25, 18, 0))
THIS_WEEK = dt.date(2026, 11, 23)
LAT, LNG = 32.0, 119.6
counter = itertools.count(1)


def case(grid, day: dt.date, *, category="0101", lat=None, lng=None, status="reported", hour=10):
    n = next(counter)
    return Case.objects.create(
        code=f"W{n:06d}",
        category=Category.objects.get(code=category),
        channel="resident",
        status=status,
        priority="normal",
        description="预警测试",
        region_code=grid,
        handler_type="grid",
        handler_unit_code=grid,
        reported_at=timezone.make_aware(dt.datetime.combine(day, dt.time(hour))),
        lat=lat,
        lng=lng,
        void_reason="无效" if status == "voided" else "",
    )


def history(grid, counts, *, category="0101"):
    """counts[i] cases in the i-th week before THIS_WEEK (i = 0 → last week)."""
    for weeks_back, n in enumerate(counts, 1):
        monday = THIS_WEEK - dt.timedelta(weeks=weeks_back)
        for i in range(n):
            case(grid, monday + dt.timedelta(days=i % 7), category=category)


def this_week(grid, n, *, category="0101", status="reported"):
    for i in range(n):
        case(grid, THIS_WEEK + dt.timedelta(days=i % 3), category=category, status=status)


def spikes():
    return [f for f in warnings.findings(NOW) if f.kind == "spike" and f.period_start == THIS_WEEK]


# --- rule 1: spikes ----------------------------------------------------------------------------


def test_spike_above_mean_plus_three_sigma(world):
    grid = world["grid_a"]
    history(grid, [1, 0, 1, 0, 1, 0, 1, 0])  # mean 0.5, σ 0.5 → threshold 2
    this_week(grid, 5)
    found = spikes()
    assert len(found) == 1
    f = found[0]
    assert (f.region_code, f.count, f.mean, f.sd) == (grid, 5, 0.5, 0.5)
    assert f.category_id == Category.objects.get(code="0101").pk
    assert len(f.case_ids) == 5 and f.period_end == TODAY


def test_no_spike_below_five_even_without_history(world):
    this_week(world["grid_a"], 4)
    assert spikes() == []


def test_no_spike_within_three_sigma(world):
    grid = world["grid_a"]
    history(grid, [0, 10, 0, 10, 0, 10, 0, 10])  # mean 5, σ 5 → threshold 20
    this_week(grid, 12)
    assert spikes() == []


def test_spike_exactly_at_threshold_is_not_above(world):
    grid = world["grid_a"]
    history(grid, [5, 5, 5, 5, 5, 5, 5, 5])  # σ 0 → threshold 5; 5 is not above
    this_week(grid, 5)
    assert spikes() == []
    this_week(grid, 1)
    assert len(spikes()) == 1


def test_spike_is_per_grid_and_category_and_ignores_merged_or_voided(world):
    this_week(world["grid_a"], 3, category="0101")
    this_week(world["grid_a"], 3, category="0102")
    this_week(world["grid_b"], 3, category="0101")
    this_week(world["grid_a"], 4, category="0103", status="voided")
    assert spikes() == []


def test_last_weeks_spike_is_found_too(world):
    grid = world["grid_a"]
    history(grid, [6])
    found = [f for f in warnings.findings(NOW) if f.kind == "spike"]
    assert [(f.period_start, f.count) for f in found] == [(THIS_WEEK - dt.timedelta(weeks=1), 6)]


# --- rule 2: repeat location --------------------------------------------------------------------

M = 1 / warnings.METRES_PER_DEGREE  # one metre of latitude


def test_three_reports_within_30_m_in_30_days(world):
    grid = world["grid_a"]
    ids = [
        case(grid, TODAY - dt.timedelta(days=d), lat=LAT + dy * M, lng=LNG).pk
        for d, dy in ((0, 0), (10, 12), (29, -20))
    ]
    found = [f for f in warnings.findings(NOW) if f.kind == "repeat"]
    assert len(found) == 1 and sorted(found[0].case_ids) == sorted(ids)
    assert found[0].count == 3 and found[0].region_code == grid


def test_no_repeat_when_spread_out_or_too_old(world):
    grid = world["grid_a"]
    case(grid, TODAY, lat=LAT, lng=LNG)
    case(grid, TODAY, lat=LAT + 25 * M, lng=LNG)
    case(grid, TODAY, lat=LAT - 45 * M, lng=LNG)  # 45 m from the first: out
    case(grid, TODAY - dt.timedelta(days=30), lat=LAT + 5 * M, lng=LNG)  # 31 days: out
    assert [f for f in warnings.findings(NOW) if f.kind == "repeat"] == []


def test_distance_is_metres():
    assert abs(warnings.distance_m(LAT, LNG, LAT + 30 * M, LNG) - 30) < 0.1


# --- storing, idempotence, acknowledgement ----------------------------------------------------


@pytest.fixture
def stored(world):
    grid = world["grid_a"]
    history(grid, [1, 0, 1, 0, 1, 0, 1, 0])
    this_week(grid, 5)
    for dy in (0, 10, 20):
        case(grid, TODAY, lat=LAT + dy * M, lng=LNG)
    result = services.warnings_refresh(now=NOW)
    assert result["created"] == 2
    return EarlyWarning.objects.order_by("kind")


def test_refresh_is_idempotent_and_updates_counts(stored, world):
    assert services.warnings_refresh(now=NOW) == {"found": 2, "created": 0, "updated": 0}
    this_week(world["grid_a"], 1)
    case(world["grid_a"], TODAY, lat=LAT + 5 * M, lng=LNG)
    result = services.warnings_refresh(now=NOW)
    assert result["created"] == 0 and result["updated"] == 2
    counts = dict(EarlyWarning.objects.values_list("kind", "count"))
    # 5 + the 3 located reports of this week, then one more of each kind (both 0101)
    assert counts == {"spike": 10, "repeat": 4}


def test_acknowledge_once_with_audit(stored, persona):
    warning = stored.first()
    township = persona("township")
    done = services.warning_acknowledge(actor=township, warning_id=warning.pk, note="已安排巡查")
    assert done.acknowledged_by == township and done.acknowledgement_note == "已安排巡查"
    event = AuditEvent.objects.get(action="analytics.warning_acknowledge")
    assert event.actor == township and event.object_id == str(warning.pk)
    with pytest.raises(ConflictError):
        services.warning_acknowledge(actor=township, warning_id=warning.pk)
    # a refresh keeps the acknowledgement
    services.warnings_refresh(now=NOW)
    warning.refresh_from_db()
    assert warning.acknowledged_by == township


def test_acknowledge_outside_scope_is_404(stored, persona, api_client_as, world):
    from django.http import Http404

    warning = stored.first()
    warning.region_code = "321181002001001"
    warning.save(update_fields=["region_code"])
    with pytest.raises(Http404):
        services.warning_acknowledge(actor=persona("township"), warning_id=warning.pk)
    response = api_client_as("township").post(
        f"/api/v1/analytics/warnings/{warning.pk}/acknowledge", {}, content_type="application/json"
    )
    assert response.status_code == 404
    assert not EarlyWarning.objects.filter(pk=warning.pk, acknowledged_at__isnull=False).exists()
    listed = api_client_as("township").get("/api/v1/analytics/warnings").json()
    assert warning.pk not in [w["id"] for w in listed]


def test_cards_link_to_cases_and_acknowledge_on_the_page(stored, client_as, world):
    client = client_as("community")
    cockpit = client.get("/analytics/")
    html = cockpit.content.decode()
    for w in stored:
        assert f"/analytics/warnings/{w.pk}/" in html
    spike = stored.get(kind="spike")
    detail = client.get(f"/analytics/warnings/{spike.pk}/")
    assert detail.status_code == 200
    for case_id in spike.case_ids:
        assert f"/cases/{case_id}/" in detail.content.decode()
    response = client.post(
        f"/analytics/warnings/{spike.pk}/acknowledge/", {"note": "已核实", "next": "/analytics/"}
    )
    assert response.status_code == 302 and response["Location"] == "/analytics/"
    spike.refresh_from_db()
    assert spike.acknowledged_at is not None
    again = client.post(f"/analytics/warnings/{spike.pk}/acknowledge/", follow=True)
    assert "该预警已被确认" in again.content.decode()
    unsafe = client.post(
        f"/analytics/warnings/{stored.get(kind='repeat').pk}/acknowledge/",
        {"next": "https://evil.example/"},
    )
    assert unsafe["Location"].startswith("/analytics/warnings/")


def test_api_acknowledge_and_conflict(stored, api_client_as):
    warning = stored.get(kind="repeat")
    client = api_client_as("city")
    url = f"/api/v1/analytics/warnings/{warning.pk}/acknowledge"
    first = client.post(url, {"note": "ok"}, content_type="application/json")
    assert first.status_code == 200 and first.json()["acknowledged_at"]
    second = client.post(url, {}, content_type="application/json")
    assert second.status_code == 409 and second.json()["code"] == "already_acknowledged"
    too_long = client.post(
        f"/api/v1/analytics/warnings/{stored.get(kind='spike').pk}/acknowledge",
        {"note": "x" * 501},
        content_type="application/json",
    )
    assert too_long.status_code == 400
    listed = client.get("/api/v1/analytics/warnings", {"open": "true"}).json()
    assert [w["kind"] for w in listed] == ["spike"]


def test_periodic_job_runs_the_rules(world):
    job = next(j for j in schedule.jobs() if j.name == "analytics.warnings")
    assert job.every == dt.timedelta(hours=1)
    grid = world["grid_a"]
    today = timezone.localdate()
    for dy in (0, 8, 16):
        case(grid, today, lat=LAT + dy * M, lng=LNG)
    result = job.task.call()
    assert result["created"] >= 1
    assert EarlyWarning.objects.filter(kind="repeat", region_code=grid).exists()


def test_acknowledged_needs_an_actor_in_the_database(stored):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        EarlyWarning.objects.filter(pk=stored.first().pk).update(acknowledged_at=NOW)


def test_warning_pages_are_scoped(stored, client_as):
    warning = stored.first()
    warning.region_code = "321181002001001"
    warning.save(update_fields=["region_code"])
    assert client_as("township").get(f"/analytics/warnings/{warning.pk}/").status_code == 404
    response = client_as("township").post(f"/analytics/warnings/{warning.pk}/acknowledge/")
    assert response.status_code == 404
    assert client_as("city").get(f"/analytics/warnings/{warning.pk}/").status_code == 200
    assert client_as("grid").get(f"/analytics/warnings/{warning.pk}/").status_code == 404
    cockpit = client_as("township").get("/analytics/")
    assert warning.pk not in [w.pk for w in cockpit.context["warnings"]]
