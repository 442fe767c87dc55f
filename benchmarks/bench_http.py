"""http.case_create: Open311 POST requests/s and latency at concurrency 16 against the production
stack, next to the same stack's GET /healthz at the same concurrency (the reference).

  python benchmarks/bench_http.py [--scale small|medium|city] [--db sqlite|postgres]
                                  [--concurrency 16] [--duration 20] [--web-workers 4]

The stack is `manage.py serve` (gunicorn with several processes + the task-queue worker) under
SHEQU_ENV=production on the benchmark database (benchmarks/stack.py); the load comes from a
separate process (benchmarks/load.py), one keep-alive connection per concurrent client.
A benchmark application key is created with `manage.py open311_key create … --rate-limit
1000000`; each POST carries the GeoReport v2 form fields api_key, service_code, lat, long and
description, with service codes from GET /open311/v2/services.json and points inside grids.

Targets: POST req/s ≥ 0.3 × /healthz req/s, p99 ≤ 300 ms. When the Open311 key command or
endpoint is not there, the case_create metrics are reported missing (with the reason); the
/healthz reference is measured regardless.
"""

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    configure,
    data_dir,
    database_url,
    metric,
    missing,
    print_table,
    save,
)
from benchmarks.load import run_in_process
from benchmarks.stack import ProductionStack

HEADERS = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
POST_PATH = "/open311/v2/requests.json"


def grid_points(count: int) -> list[tuple[float, float]]:
    """Building coordinates that fall inside a grid (deterministic)."""
    from shequ.geo.locate import locate
    from shequ.geo.models import Building

    rng = random.Random(16)
    buildings = list(Building.objects.order_by("id").values_list("lat", "lng")[:5000])
    points = []
    for _ in range(count * 5):
        lat, lng = rng.choice(buildings)
        if locate(lat, lng).grid_code:
            points.append((lat, lng))
        if len(points) >= count:
            break
    return points


def create_key(stack: ProductionStack) -> tuple[str | None, str]:
    """(key, '') or (None, why not)."""
    name = f"bench-{int(time.time())}"
    result = stack.manage("open311_key", "create", name, "--rate-limit", "1000000", check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        unknown = [line for line in lines if "Unknown command" in line]
        if unknown:
            return None, f"{unknown[0].strip()} — the Open311 app is not installed"
        return None, "manage.py open311_key create failed: " + (lines[-1] if lines else "?")
    return result.stdout.strip().splitlines()[-1].strip(), ""


def service_codes(stack: ProductionStack) -> tuple[list[str], str]:
    import urllib.request

    request = urllib.request.Request(stack.base_url + "/open311/v2/services.json", headers=HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            services = json.loads(response.read())
    except OSError as error:
        return [], f"GET /open311/v2/services.json failed: {error}"
    if not isinstance(services, list):
        return [], "GET /open311/v2/services.json did not return a list"
    simple = [s["service_code"] for s in services if not s.get("metadata")]
    codes = simple or [s["service_code"] for s in services if "service_code" in s]
    return codes, "" if codes else "no Open311 services"


def post_requests(key: str, codes: list[str], points, n: int = 2000) -> list[dict]:
    rng = random.Random(1)
    requests = []
    for i in range(n):
        lat, lng = points[i % len(points)]
        body = urlencode(
            {
                "api_key": key,
                "service_code": codes[i % len(codes)],
                "lat": f"{lat:.6f}",
                "long": f"{lng:.6f}",
                "description": f"压测上报 {i}：楼道灯不亮，请尽快处理（{rng.randint(1, 99)}号楼）",
            }
        )
        requests.append(
            {
                "method": "POST",
                "path": POST_PATH,
                "body": body,
                "headers": {**HEADERS, "Content-Type": "application/x-www-form-urlencoded"},
            }
        )
    return requests


def load(stack, requests, concurrency, duration, warmup, work: Path, label: str) -> dict:
    spec = {
        "base_url": stack.base_url,
        "concurrency": concurrency,
        "duration": duration,
        "warmup": warmup,
        "requests": requests,
    }
    result = run_in_process(spec, work / f"{label}.json")
    print(
        f"  {label}: {result['ok']} ok of {result['requests']} in {result['elapsed']:.1f} s "
        f"→ {result['ok_per_s'] or 0:.0f}/s; p50 {result['p50_ms'] or 0:.1f} ms, "
        f"p99 {result['p99_ms'] or 0:.1f} ms; "
        f"statuses {result['statuses']} errors {result['errors']}",
        flush=True,
    )
    return result


def latency_rows(prefix: str, result: dict, *, p99_target=None, note="") -> list[dict]:
    rows = []
    for p in ("p50", "p95", "p99"):
        value = result[f"{p}_ms"] if result["ok"] else None
        rows.append(
            metric(
                f"{prefix}.{p}",
                value,
                "ms",
                target=p99_target if p == "p99" else None,
                note=note if p == "p99" else "",
            )
        )
    return rows


def bench(args) -> list[dict]:
    var = data_dir(args.scale, args.db)
    work = Path(tempfile.mkdtemp(prefix="shequ-bench-http-"))
    with ProductionStack(
        var, database_url(args.scale, args.db), web_workers=args.web_workers
    ) as stack:
        setup = (
            f"production stack: {args.web_workers} gunicorn workers × 4 threads + 1 queue "
            f"worker, cache {stack.cache}; load from a separate process, "
            f"{args.concurrency} keep-alive clients, {args.duration} s after {args.warmup} s "
            "warm-up"
        )
        health = load(
            stack,
            [{"method": "GET", "path": "/healthz", "headers": HEADERS}],
            args.concurrency,
            args.duration,
            args.warmup,
            work,
            "healthz",
        )
        bad = health["requests"] - health["ok"]
        reference = health["ok_per_s"] if health["ok"] else None
        rows = [
            metric(
                "http.healthz.rps",
                reference,
                "req/s",
                higher_is_better=True,
                note=setup + (f"; {bad} non-2xx/failed" if bad else ""),
            ),
            *latency_rows("http.healthz", health),
        ]
        key, why = create_key(stack)
        codes: list[str] = []
        if key:
            codes, why = service_codes(stack)
        if not key or not codes:
            note = f"not measured: {why}"
            return [
                *rows,
                missing(
                    "http.case_create.rps", "req/s", note, ratio_target=0.3, higher_is_better=True
                ),
                missing("http.case_create.p99", "ms", note, target=300),
            ]
        points = grid_points(200)
        created = load(
            stack,
            post_requests(key, codes, points),
            args.concurrency,
            args.duration,
            args.warmup,
            work,
            "case_create",
        )
    failed = created["requests"] - created["ok"]
    note = (
        f"POST {POST_PATH} (GeoReport v2 form), {len(codes)} service codes; "
        f"statuses {created['statuses']}, errors {created['errors']}"
    )
    rps = created["ok_per_s"] if created["ok"] else None
    row = metric(
        "http.case_create.rps",
        rps,
        "req/s",
        reference=reference,
        ratio_target=0.3,
        higher_is_better=True,
        note=note,
    )
    if created["ok"] and failed > created["requests"] * 0.01:
        row["pass"] = False  # more than 1 % refused or failed: not a throughput figure
        row["note"] += f"; {failed} requests not created"
    return [*rows, row, *latency_rows("http.case_create", created, p99_target=300)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=None, help="s (small: 5, else 20)")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--web-workers", type=int, default=4)
    args = parser.parse_args()
    args.duration = args.duration or (5 if args.scale == "small" else 20)
    configure(args.scale, args.db)
    metrics = bench(args)
    print_table(metrics)
    print("saved", save("http", args.scale, args.db, metrics))


if __name__ == "__main__":
    main()
