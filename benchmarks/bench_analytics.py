"""Cockpit benchmark: the cockpit's data requests for city scope and one month, warm and cold,
against DuckDB computing the same indicators from the same case rows exported to Parquet.

  python benchmarks/bench_analytics.py [--scale small|city] [--db sqlite|postgres]
                                       [--database-url postgres://…] [--repeat 30]

Measured:
- cockpit.city_month.warm_p95: GET /analytics/?period=custom&from=…&to=… as the demo `city`
  operator through Django's test client — every number of the page (KPI cards, trend, category
  table, township and community rankings, grid map values, hotspots, red cases, warnings) is
  computed in that request; p95 over --repeat requests after one warm-up. Target ≤ 500 ms.
- cockpit.city_month.cold: the same request as the first one of a fresh Python process (new
  database connection, empty Django caches; the database server's own cache is not dropped).
  Target ≤ 2 s.
- cockpit.api_month.warm_p95: GET /api/v1/analytics/indicators?group_by=community, same period.
- cockpit.warnings_job: one run of the hourly early-warning job (both rules, whole city).
- reference: DuckDB runs the same aggregations (total, by township, community, grid, category
  and day; reports and cohort) over a Parquet file of the same case rows (COPY … TO parquet);
  its warm p95 is the reference of cockpit.city_month.warm_p95 and the ratio is reported. The
  DuckDB totals are checked against the selector, so both compute the same numbers.

The month is the last full calendar month before the demo's "now", so it has data at any scale.
"""

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    configure,
    configure_url,
    data_dir,
    metric,
    percentile,
    print_table,
    save,
    timed,
)

COLUMNS = (
    "region_code",
    "category__code",
    "category__parent__code",
    "status",
    "reported_at",
    "registered_at",
    "dispatched_at",
    "due_at",
    "handled_at",
    "rework_count",
    "extension_count",
    "handling_seconds",
    "satisfaction",
)


def last_full_month() -> tuple[dt.date, dt.date]:
    from django.utils import timezone

    first_of_this = timezone.localdate().replace(day=1)
    end = first_of_this - dt.timedelta(days=1)
    return end.replace(day=1), end


def city_client():
    from django.test import Client

    from shequ.accounts.models import User
    from shequ.accounts.second_factor import CHECKED

    client = Client()
    client.force_login(User.objects.get(username="city"))
    session = client.session
    session[CHECKED] = "password"
    session.save()
    return client


def page_params(start: dt.date, end: dt.date) -> dict:
    return {"period": "custom", "from": start.isoformat(), "to": end.isoformat()}


def bench_cockpit(start, end, repeat: int) -> tuple[list[float], list[float]]:
    client = city_client()
    params = page_params(start, end)
    assert client.get("/analytics/", params).status_code == 200

    def page():
        response = client.get("/analytics/", params)
        assert response.status_code == 200

    def api():
        response = client.get(
            "/api/v1/analytics/indicators",
            {"from": start.isoformat(), "to": end.isoformat(), "group_by": "community"},
        )
        assert response.status_code == 200

    return timed(page, repeat), timed(api, repeat)


def cold_probe(start: str, end: str) -> None:
    """Run in a fresh process: time the first cockpit request (printed as JSON)."""
    client = city_client()
    params = page_params(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    started = time.perf_counter()
    response = client.get("/analytics/", params)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    print(json.dumps({"cold": elapsed}))


def bench_cold(args, start, end, runs: int) -> list[float]:
    samples = []
    env = dict(os.environ)
    for _ in range(runs):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--cold-probe",
                start.isoformat(),
                end.isoformat(),
                "--scale",
                args.scale,
                "--db",
                args.db,
                *(["--database-url", args.database_url] if args.database_url else []),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        samples.append(json.loads(out.strip().splitlines()[-1])["cold"])
    return samples


# --- DuckDB reference -------------------------------------------------------------------------


def export_parquet(path: Path) -> int:
    """The case rows (the columns the indicators read) → CSV → DuckDB COPY TO parquet."""
    import duckdb

    from shequ.cases.models import Case

    csv_path = path.with_suffix(".csv")
    count = 0
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.replace("__", "_") for c in COLUMNS])
        for row in Case.objects.order_by().values_list(*COLUMNS).iterator(chunk_size=20_000):
            writer.writerow(
                [
                    v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
                    if isinstance(v, dt.datetime)
                    else ("" if v is None else v)
                    for v in row
                ]
            )
            count += 1
    types = {
        "region_code": "VARCHAR",
        "category_code": "VARCHAR",
        "category_parent_code": "VARCHAR",
        "status": "VARCHAR",
        "reported_at": "TIMESTAMP",
        "registered_at": "TIMESTAMP",
        "dispatched_at": "TIMESTAMP",
        "due_at": "TIMESTAMP",
        "handled_at": "TIMESTAMP",
        "rework_count": "INTEGER",
        "extension_count": "INTEGER",
        "handling_seconds": "BIGINT",
        "satisfaction": "VARCHAR",
    }
    columns = ", ".join(f"'{k}': '{v}'" for k, v in types.items())
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * FROM read_csv('{csv_path}', header=true, columns={{{columns}}}, "
            f"nullstr='')) TO '{path}' (FORMAT parquet)"
        )
    csv_path.unlink()
    return count


KEYS = {
    None: "NULL",
    "township": "substr(region_code, 1, 9)",
    "community": "substr(region_code, 1, 12)",
    "grid": "region_code",
    "category": "category_code",
    "day": "CAST({ts} + INTERVAL 8 HOUR AS DATE)",  # Asia/Shanghai, no DST
}


def duckdb_queries(path: Path, region: str, start: dt.date, end: dt.date, now: dt.datetime):
    """The SQL the reference runs: reports and cohort aggregates for each grouping the page
    shows. Returns a function running them all and returning {group: (reports, cohort)}."""
    import duckdb

    tz = dt.timezone(dt.timedelta(hours=8))
    begin = dt.datetime.combine(start, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    finish = finish.astimezone(dt.UTC)
    fmt = "%Y-%m-%d %H:%M:%S"
    b, f, n = (f"TIMESTAMP '{x.strftime(fmt)}'" for x in (begin, finish, now.astimezone(dt.UTC)))
    scope = f"starts_with(region_code, '{region}')"
    con = duckdb.connect()
    con.execute(f"CREATE VIEW cases AS SELECT * FROM read_parquet('{path}')")

    def run():
        results = {}
        for group, key in KEYS.items():
            reports_key = key.format(ts="reported_at")
            cohort_key = key.format(ts="registered_at")
            reports = con.execute(
                f"SELECT {reports_key} AS k, count(*), "
                f"count(*) FILTER (WHERE status IN ('merged', 'voided')) "
                f"FROM cases WHERE {scope} AND reported_at >= {b} AND reported_at < {f} "
                f"GROUP BY ALL"
            ).fetchall()
            cohort = con.execute(
                f"SELECT {cohort_key} AS k, count(*) AS registered, "
                f"count(*) FILTER (WHERE status = 'closed') AS closed, "
                f"count(*) FILTER (WHERE status IN ('dispatched', 'accepted') "
                f"  AND due_at < {n}) AS overdue_open, "
                f"count(*) FILTER (WHERE status = 'closed' AND handled_at <= due_at) AS on_time, "
                f"count(*) FILTER (WHERE rework_count > 0) AS rework, "
                f"count(*) FILTER (WHERE dispatched_at IS NOT NULL OR status = 'closed'), "
                f"count(*) FILTER (WHERE handled_at IS NOT NULL), "
                f"count(*) FILTER (WHERE extension_count > 0), "
                f"avg(handling_seconds) FILTER (WHERE status = 'closed'), "
                f"count(*) FILTER (WHERE status = 'closed' AND satisfaction = 'satisfied'), "
                f"count(*) FILTER (WHERE status = 'closed' AND satisfaction = 'basic'), "
                f"count(*) FILTER (WHERE status = 'closed' AND satisfaction = 'unsatisfied') "
                f"FROM cases WHERE {scope} AND registered_at >= {b} AND registered_at < {f} "
                f"AND status NOT IN ('merged', 'voided') GROUP BY ALL"
            ).fetchall()
            results[group] = (reports, cohort)
        return results

    return run


def check_reference(results: dict, region: str, start, end, now) -> str:
    """DuckDB's city totals equal the selector's (else the comparison would be meaningless)."""
    from shequ.cases.indicators import indicators

    ours = indicators(region=region, start=start, end=end, now=now)
    reports, cohort = results[None]
    theirs = {
        "reports": reports[0][1] if reports else 0,
        "registered": cohort[0][1] if cohort else 0,
        "closed": cohort[0][2] if cohort else 0,
        "overdue_open": cohort[0][3] if cohort else 0,
        "closed_on_time": cohort[0][4] if cohort else 0,
        "satisfied": cohort[0][10] if cohort else 0,
    }
    mismatched = {k: (getattr(ours, k), v) for k, v in theirs.items() if getattr(ours, k) != v}
    if mismatched:
        raise AssertionError(f"DuckDB and the selector disagree: {mismatched}")
    return f"DuckDB totals equal the selector's ({theirs['reports']} reports)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="postgres", choices=["sqlite", "postgres"])
    parser.add_argument("--database-url", default=os.environ.get("SHEQU_BENCH_CASES_URL", ""))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--cold-probe", nargs=2, metavar=("FROM", "TO"))
    args = parser.parse_args()
    if args.cold_probe:
        os.environ.setdefault("SHEQU_BENCH_QUIET", "1")
        if args.database_url:
            os.environ.update(SHEQU_ENV="demo", DATABASE_URL=args.database_url)
        else:
            from benchmarks.common import database_url

            os.environ.update(
                SHEQU_ENV="demo",
                DATABASE_URL=database_url(args.scale, args.db),
                SHEQU_VAR_DIR=str(data_dir(args.scale, args.db)),
            )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
        import django

        django.setup()
        cold_probe(*args.cold_probe)
        return
    if args.database_url:
        configure_url(args.database_url, args.scale, "analytics")
    else:
        configure(args.scale, args.db)
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from shequ.cases.models import Case

    start, end = last_full_month()
    city = settings.SHEQU_CITY_CODE
    total = Case.objects.count()
    in_month = Case.objects.filter(reported_at__date__gte=start, reported_at__date__lte=end).count()
    metrics = [
        metric(
            "cockpit.cases",
            total,
            "cases",
            note=f"{connection.vendor}; {in_month} reported in {start}–{end}",
        )
    ]
    cached_seconds = settings.SHEQU_COCKPIT_CACHE_SECONDS
    settings.SHEQU_COCKPIT_CACHE_SECONDS = 0  # every request recomputed on raw rows
    uncached, uncached_api = bench_cockpit(start, end, args.repeat)
    settings.SHEQU_COCKPIT_CACHE_SECONDS = cached_seconds  # as configured (default 60 s)
    warm, api = bench_cockpit(start, end, args.repeat)
    cold = bench_cold(args, start, end, args.cold_runs)

    parquet = data_dir(args.scale, connection.vendor) / "cases.parquet"
    started = time.perf_counter()
    rows = export_parquet(parquet)
    export_seconds = time.perf_counter() - started
    now = timezone.now()
    run = duckdb_queries(parquet, city, start, end, now)
    agreement = check_reference(run(), city, start, end, now)
    reference = timed(run, args.repeat)
    duck_p95 = percentile(reference, 95) * 1000
    metrics += [
        metric(
            "cockpit.city_month.warm_p95",
            percentile(warm, 95) * 1000,
            "ms",
            target=500,
            note=f"GET /analytics/ (city, {start}–{end}) p50 "
            f"{percentile(warm, 50) * 1000:.1f} ms over {args.repeat}, as configured: the "
            f"selector's results kept {cached_seconds} s (SHEQU_COCKPIT_CACHE_SECONDS)",
        ),
        metric(
            "cockpit.city_month.uncached_p95",
            percentile(uncached, 95) * 1000,
            "ms",
            reference=duck_p95,
            target=500,
            note=f"the same page with SHEQU_COCKPIT_CACHE_SECONDS=0 (every request recomputed on "
            f"raw rows), p50 {percentile(uncached, 50) * 1000:.1f} ms; reference = DuckDB on "
            f"Parquet, same aggregations ({rows} rows; export {export_seconds:.1f} s); "
            + agreement,
        ),
        metric(
            "cockpit.api_month.uncached_p95",
            percentile(uncached_api, 95) * 1000,
            "ms",
            target=500,
            note="GET /api/v1/analytics/indicators?group_by=community, cache off",
        ),
        metric(
            "cockpit.city_month.cold",
            max(cold) * 1000,
            "ms",
            target=2000,
            note=f"first request of a fresh process, worst of {len(cold)}: "
            + ", ".join(f"{c * 1000:.0f}" for c in cold)
            + " ms (the database server's cache is not dropped)",
        ),
        metric(
            "cockpit.api_month.warm_p95",
            percentile(api, 95) * 1000,
            "ms",
            target=500,
            note="GET /api/v1/analytics/indicators?group_by=community (city, one month)",
        ),
        metric("cockpit.duckdb_reference.p95", duck_p95, "ms", note="DuckDB, Parquet, in-process"),
    ]
    from shequ.analytics.services import warnings_refresh

    started = time.perf_counter()
    outcome = warnings_refresh()
    job_seconds = time.perf_counter() - started
    metrics.append(
        metric(
            "cockpit.warnings_job",
            job_seconds,
            "s",
            target=60,
            note=f"one run of the hourly early-warning job over all cases: {outcome}",
        )
    )
    print_table(metrics)
    print("saved", save("analytics", args.scale, connection.vendor, metrics))


if __name__ == "__main__":
    main()
