"""Closed-loop benchmarks: case creation throughput (service level), the grid worker's inbox with
millions of cases in the database, the SLA sweep with 100,000 open cases, indicators.

  python benchmarks/bench_cases.py [--scale small|city] [--db sqlite|postgres]
                                   [--database-url postgres://…] [--create 300]

The database is created and seeded on first use (`seed_demo --scale city` writes 5,000,000
cases through the COPY path on PostgreSQL; on SQLite through batched inserts, which is slow).
`--database-url` points at an already seeded database instead of the shared benchmark one.

Measured:
- cases.create.*: case_report() with one photo and without, committed one by one (cases/s);
- cases.inbox.*: the grid worker's inbox — the selector (first page, 50 rows) and the whole
  page through Django's test client, p50/p95 over the demo `grid` and 20 random grid workers;
- cases.sla_sweep.*: 100,000 extra open cases are inserted in a transaction that is rolled back
  afterwards; a steady-state sweep (0.5 % of clocks cross a threshold this minute) and a
  catch-up sweep after a 1-hour outage (≈ 10 %); goal ≤ 5 s;
- cases.indicators.*: the indicators selector for the whole city and one month (cold/warm).
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    configure,
    configure_url,
    metric,
    percentile,
    print_table,
    save,
    timed,
)

OPEN_CASES = 100_000


def _photo() -> bytes:
    """A 1280×960 JPEG with EXIF, like a phone photo (smaller file)."""
    import io

    from PIL import Image

    image = Image.new("RGB", (1280, 960), (120, 160, 200))
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, exif=exif)
    return buffer.getvalue()


class Rollback(Exception):
    """Leave the benchmark database as it was."""


def bench_create(count: int) -> list[dict]:
    from django.db import connection, transaction

    from shequ.accounts.models import User
    from shequ.cases import services
    from shequ.cases.models import Case
    from shequ.geo.locate import locate
    from shequ.geo.models import Building

    resident = User.objects.get(username="resident")
    buildings = list(Building.objects.order_by("id").values_list("lat", "lng")[:2000])
    rng = random.Random(3)
    points: list[tuple[float, float]] = []
    while len(points) < count:
        lat, lng = rng.choice(buildings)
        if locate(lat, lng).grid_code:
            points.append((lat, lng))
    photo = _photo()
    results = []
    created: list[int] = []
    for label, category, photos, attributes in (
        ("with_photo", "0101", [photo], {"amount": "v1"}),
        ("no_photo", "0202", [], {}),
    ):
        started = time.perf_counter()
        for lat, lng in points:
            case = services.case_report(
                actor=resident,
                category=category,
                description="基准测试案件",
                lat=lat,
                lng=lng,
                photos=photos,
                attributes=attributes,
            )
            created.append(case.pk)
        elapsed = time.perf_counter() - started
        results.append(
            metric(
                f"cases.create.{label}",
                count / elapsed,
                "cases/s",
                higher_is_better=True,
                note=f"{count} × case_report (locate, route, auto-dispatch, timeline"
                + (", photo check + EXIF strip + thumbnail" if photos else "")
                + "), committed one by one",
            )
        )
    # Clean up: timeline rows are immutable to the ORM; the benchmark removes its own rows.
    ids = ",".join(str(i) for i in created)
    object_ids = ",".join(f"'{i}'" for i in created)
    notes = (
        "SELECT id FROM notifications_notification WHERE object_type = 'cases.case' "
        f"AND object_id IN ({object_ids})"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM notifications_delivery WHERE notification_id IN ({notes})")
        cursor.execute(f"DELETE FROM notifications_notification WHERE id IN ({notes})")
        cursor.execute(f"DELETE FROM cases_casephoto WHERE case_id IN ({ids})")
        cursor.execute(f"DELETE FROM cases_caseevent WHERE case_id IN ({ids})")
        cursor.execute(f"DELETE FROM cases_case WHERE id IN ({ids})")
    assert not Case.objects.filter(pk__in=created).exists()
    return results


def bench_inbox(repeat: int) -> list[dict]:
    from django.test import Client

    from shequ.accounts.models import Assignment, User
    from shequ.cases import selectors
    from shequ.cases.models import Case

    users = [User.objects.get(username="grid")]
    rng = random.Random(5)
    workers = list(Assignment.objects.filter(role="grid_worker").values_list("user_id", flat=True))
    users += list(User.objects.filter(pk__in=rng.sample(workers, min(20, len(workers)))))
    total = Case.objects.count()
    sizes = [selectors.inbox(u).count() for u in users[:5]]

    def selector_call(user):
        return list(selectors.inbox(user)[:50])

    for user in users:
        selector_call(user)
    samples = []
    for i in range(repeat):
        user = users[i % len(users)]
        started = time.perf_counter()
        selector_call(user)
        samples.append(time.perf_counter() - started)
    clients = []
    for user in users:
        client = Client()
        client.force_login(user)
        assert client.get("/cases/inbox/").status_code == 200
        clients.append(client)
    page_samples = []
    for i in range(repeat):
        client = clients[i % len(clients)]
        started = time.perf_counter()
        response = client.get("/cases/inbox/")
        page_samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    api_client = Client()
    api_client.force_login(users[0])
    api_samples = timed(lambda: api_client.get("/api/v1/cases?assigned=true&status=open"), repeat)
    note = f"{total:,} cases in the database; inbox sizes of the first workers {sizes}"
    return [
        metric(
            "cases.inbox.selector.p95",
            percentile(samples, 95) * 1000,
            "ms",
            target=50,
            note=note + f"; p50 {percentile(samples, 50) * 1000:.1f} ms",
        ),
        metric(
            "cases.inbox.page.p95",
            percentile(page_samples, 95) * 1000,
            "ms",
            target=150,
            note=f"GET /cases/inbox/ via the test client; p50 "
            f"{percentile(page_samples, 50) * 1000:.1f} ms",
        ),
        metric(
            "cases.inbox.api.p95",
            percentile(api_samples, 95) * 1000,
            "ms",
            target=300,
            note="GET /api/v1/cases?assigned=true&status=open (count + first page)",
        ),
    ]


def _open_cases(now, n: int, crossing: float, rng) -> list:
    """n open cases (accepted, handle step) whose clocks put `crossing` of them past a
    threshold at `now` (split between yellow, red and escalation)."""
    import datetime as dt

    from shequ.accounts.models import Assignment
    from shequ.cases.models import Case, Category
    from shequ.cases.workflow import SlaLevel

    categories = list(Category.objects.filter(parent__isnull=False, handler_type="grid"))
    grids = list(
        Assignment.objects.filter(role="grid_worker").values_list("region__code", "user_id")
    )
    cases = []
    for i in range(n):
        category = rng.choice(categories)
        grid, worker = rng.choice(grids)
        roll = rng.random()
        start = now - dt.timedelta(hours=rng.uniform(1, 40))
        if roll < crossing * 0.5:  # turns yellow now
            warn, due = now - dt.timedelta(seconds=30), now + dt.timedelta(hours=2)
            level, escalate = SlaLevel.GREEN, due + dt.timedelta(hours=4)
        elif roll < crossing * 0.9:  # turns red now
            warn, due = now - dt.timedelta(hours=1), now - dt.timedelta(seconds=30)
            level, escalate = SlaLevel.YELLOW, now + dt.timedelta(hours=4)
        elif roll < crossing:  # escalates now
            warn, due = now - dt.timedelta(hours=9), now - dt.timedelta(hours=5)
            level, escalate = SlaLevel.RED, now - dt.timedelta(seconds=30)
        else:  # quiet
            warn = now + dt.timedelta(hours=rng.uniform(1, 30))
            due = warn + dt.timedelta(hours=2)
            level, escalate = SlaLevel.GREEN, due + dt.timedelta(hours=4)
        cases.append(
            Case(
                code=f"B{i:011d}",
                category=category,
                channel="patrol",
                status="accepted",
                priority="normal",
                description="bench",
                region_code=grid,
                handler_type="grid",
                handler_unit_code=grid,
                handler_id=worker,
                reported_at=start,
                registered_at=start,
                dispatched_at=start,
                accepted_at=start,
                due_at=due,
                step="handle",
                step_started_at=start,
                step_warn_at=warn,
                step_due_at=due,
                escalate_at=escalate,
                sla_level=level,
                updated_at=start,
            )
        )
    return cases


def bench_sweep(open_cases: int = OPEN_CASES) -> list[dict]:
    """The sweep enqueues SMS deliveries; the queue's worker sends them. Here the task backend
    is Django's dummy backend (enqueue only), as with the persistent queue in production —
    with the immediate backend the sweep would also wait for every delivery."""
    import datetime as dt

    from django.db import connection, transaction
    from django.test import override_settings
    from django.utils import timezone

    from shequ.cases.models import Case
    from shequ.cases.sla import sla_sweep

    results = []
    dummy = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    for label, crossing in (("steady", 0.005), ("catch_up", 0.10)):
        rng = random.Random(11)
        try:
            with override_settings(TASKS=dummy), transaction.atomic():
                sla_sweep()  # bring the seeded clocks up to date first
                now = timezone.now() + dt.timedelta(minutes=1)
                started = time.perf_counter()
                Case.objects.bulk_create(
                    _open_cases(now, open_cases, crossing, rng), batch_size=5000
                )
                insert_seconds = time.perf_counter() - started
                open_cases = Case.objects.filter(step_due_at__isnull=False).count()
                result = sla_sweep(now=now)
                again = sla_sweep(now=now)
                raise Rollback(result, again, insert_seconds, open_cases)
        except Rollback as outcome:
            result, again, insert_seconds, open_cases = outcome.args
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE cases_case")
        results.append(
            metric(
                f"cases.sla_sweep.{label}",
                result.seconds,
                "s",
                target=5.0,
                note=f"{open_cases:,} open cases with a running clock; changed: {result.yellow} "
                f"yellow, {result.red} red, {result.escalated} escalated, "
                f"{result.notifications} notifications; an idle re-sweep took "
                f"{again.seconds:.3f} s; setup insert {insert_seconds:.0f} s (rolled back)",
            )
        )
    return results


def bench_indicators() -> list[dict]:
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from shequ.cases.indicators import indicators

    end = timezone.localdate()
    start = end - dt.timedelta(days=30)
    cold = timed(lambda: indicators(region=settings.SHEQU_CITY_CODE, start=start, end=end), 1)[0]
    warm = timed(lambda: indicators(region=settings.SHEQU_CITY_CODE, start=start, end=end), 10)
    grouped = timed(
        lambda: indicators(
            region=settings.SHEQU_CITY_CODE, start=start, end=end, group_by="community"
        ),
        5,
    )
    return [
        metric("cases.indicators.city_month.cold", cold * 1000, "ms"),
        metric(
            "cases.indicators.city_month.warm_p95", percentile(warm, 95) * 1000, "ms", target=500
        ),
        metric(
            "cases.indicators.city_month_by_community.p95",
            percentile(grouped, 95) * 1000,
            "ms",
            target=500,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="postgres", choices=["sqlite", "postgres"])
    parser.add_argument("--database-url", default=os.environ.get("SHEQU_BENCH_CASES_URL", ""))
    parser.add_argument("--create", type=int, default=None, help="cases per creation run")
    parser.add_argument("--open-cases", type=int, default=None, help="open cases for the sweep")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["create", "inbox", "sweep", "indicators"]
    )
    args = parser.parse_args()
    small = args.scale == "small"  # CI: the same code paths, smaller volumes
    args.create = args.create or (60 if small else 300)
    args.open_cases = args.open_cases or (20_000 if small else OPEN_CASES)
    if small:
        args.repeat = min(args.repeat, 60)
    if args.database_url:
        configure_url(args.database_url, args.scale, "cases")
    else:
        configure(args.scale, args.db)
    from django.db import connection

    from shequ.cases.models import Case

    if connection.vendor == "postgresql":
        # Earlier runs' rolled-back inserts leave dead index entries until autovacuum comes.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE cases_case")
    metrics = [metric("cases.total", Case.objects.count(), "cases", note=connection.vendor)]
    if "inbox" not in args.skip:
        metrics += bench_inbox(args.repeat)
    if "indicators" not in args.skip:
        metrics += bench_indicators()
    if "sweep" not in args.skip:
        metrics += bench_sweep(args.open_cases)
    if "create" not in args.skip:
        metrics += bench_create(args.create)
    print_table(metrics)
    for m in metrics:
        if m["note"]:
            print(f"  {m['metric']}: {m['note']}")
    db = "postgres" if connection.vendor == "postgresql" else connection.vendor
    print("saved", save("cases", args.scale, db, metrics))


if __name__ == "__main__":
    main()
