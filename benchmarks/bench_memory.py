"""memory: peak RSS of one web worker after 10,000 mixed requests (target ≤ 250 MB).

  python benchmarks/bench_memory.py [--scale small|medium|city] [--db sqlite|postgres]
                                    [--requests 10000] [--concurrency 4]

One gunicorn worker (4 threads, no recycling) under SHEQU_ENV=production on the benchmark
database (benchmarks/stack.py). A separate process (benchmarks/load.py) sends logged-in GETs
round-robin over the pages people use most — home, the grid worker's case inbox, the people
list, the points pages, a resident's own cases — and /healthz, as the demo resident, grid worker
and community staff (sessions made beforehand for those users). The worker's peak resident set
(VmHWM, which the kernel keeps) is read after the run; RSS after start-up and after a warm-up
pass are recorded beside it. Small scale sends 2,000 requests (CI); the metric's name says how
many were sent.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import configure, data_dir, database_url, metric, print_table, save
from benchmarks.load import run_in_process
from benchmarks.stack import ProductionStack

PAGES = {
    "resident": ["/", "/points/", "/points/store/", "/points/me/", "/cases/mine/", "/healthz"],
    "grid": ["/", "/cases/inbox/", "/people/", "/cases/", "/healthz"],
    "community": ["/", "/people/", "/cases/", "/points/manage/", "/healthz"],
}


def sessions() -> dict[str, str]:
    """username → session key, made like a login (the server shares the secret key)."""
    from django.test import Client

    from shequ.accounts.models import User

    keys: dict[str, str] = {}
    for username in PAGES:
        client = Client()
        client.force_login(User.objects.get(username=username))
        key = client.session.session_key
        assert key is not None  # force_login saved the session
        keys[username] = key
    return keys


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS VmHWM) of a process in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def bench(args) -> list[dict]:
    keys = sessions()
    work = Path(tempfile.mkdtemp(prefix="shequ-bench-memory-"))
    with ProductionStack(
        data_dir(args.scale, args.db),
        database_url(args.scale, args.db),
        single_worker=True,
        threads=args.concurrency,
    ) as stack:
        requests, skipped = [], []
        for username, paths in PAGES.items():
            cookie = {"Cookie": f"__Host-sessionid={keys[username]}"}
            for path in paths:
                headers = {"X-Forwarded-Proto": "https", **cookie}
                status = stack.get(path, headers)
                if status == 200:
                    requests.append({"method": "GET", "path": path, "headers": headers})
                else:
                    skipped.append(f"{username} {path} → {status}")
        workers = stack.web_worker_pids()
        if len(workers) != 1 or not requests:
            raise RuntimeError(f"expected one worker and some pages: {workers}, {skipped}")
        pid = workers[0]
        start_rss, _ = rss_mb(pid)
        spec = {"base_url": stack.base_url, "concurrency": args.concurrency}
        run_in_process({**spec, "total": len(requests) * 3, "requests": requests}, work / "w.json")
        warm_rss, _ = rss_mb(pid)
        started = time.perf_counter()
        result = run_in_process(
            {**spec, "total": args.requests, "requests": requests}, work / "load.json"
        )
        elapsed = time.perf_counter() - started
        end_rss, peak = rss_mb(pid)
        print(f"  {result['ok']} ok of {result['requests']}: {result['statuses']}", flush=True)
    failed = result["requests"] - result["ok"]
    note = (
        f"{args.requests:,} GETs over {len(requests)} pages as resident, grid worker and "
        f"community staff ({args.concurrency} threads, one worker, {elapsed:.0f} s, "
        f"p95 {result['p95_ms'] or 0:.0f} ms, cache {stack.cache}); RSS after start "
        f"{start_rss:.0f} MB, after warm-up {warm_rss:.0f} MB, at the end {end_rss:.0f} MB"
        + (f"; {failed} requests failed" if failed else "")
        + (f"; pages not 200 left out: {', '.join(skipped)}" if skipped else "")
    )
    row = metric(
        "memory.web_worker.peak_rss",
        peak,
        "MB",
        target=250,
        note=note,
    )
    if failed:
        row["pass"] = False if failed > args.requests * 0.01 else row["pass"]
    return [
        row,
        metric("memory.web_worker.growth_after_warmup", end_rss - warm_rss, "MB"),
        metric("memory.requests", result["requests"], "requests"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--requests", type=int, default=None, help="default 10,000 (small 2,000)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    args.requests = args.requests or (2_000 if args.scale == "small" else 10_000)
    configure(args.scale, args.db)
    metrics = bench(args)
    print_table(metrics)
    print("saved", save("memory", args.scale, args.db, metrics))


if __name__ == "__main__":
    main()
