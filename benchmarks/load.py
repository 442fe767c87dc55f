"""HTTP load generator, run as its own process (so the client never shares a GIL with the server
or with the benchmark's bookkeeping).

  python benchmarks/load.py SPEC.json   → prints one JSON object

SPEC: {"base_url": "http://127.0.0.1:8000", "concurrency": 16,
       "duration": 10, "warmup": 2,          # seconds; or
       "total": 10000,                        # a fixed number of requests instead of a duration
       "requests": [{"method": "GET", "path": "/healthz", "headers": {}, "body": "…"}, …]}

Each of `concurrency` threads keeps one HTTP/1.1 keep-alive connection (reconnecting when the
server closes it) and sends the requests round-robin, starting at its own offset. Requests sent
during the warm-up are not counted. Result: requests, per-status counts, errors (no answer),
elapsed seconds, ok_per_s (2xx per second), latency percentiles in ms (of every counted
answer) and the bytes received.
"""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run(spec: dict) -> dict:
    parts = urlsplit(spec["base_url"])
    requests = spec["requests"]
    concurrency = int(spec.get("concurrency", 16))
    duration = spec.get("duration")
    warmup = float(spec.get("warmup", 0))
    total = spec.get("total")
    lock = threading.Lock()
    counter = [0]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    received = [0]
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration if duration else None
    measured_start: list[float] = []

    def take() -> int | None:
        with lock:
            if total is not None and counter[0] >= total:
                return None
            counter[0] += 1
            return counter[0] - 1

    def worker(index: int) -> None:
        conn = None
        n = index
        while True:
            now = time.perf_counter()
            if stop_at is not None and now >= stop_at:
                break
            if total is not None and take() is None:
                break
            request = requests[n % len(requests)]
            n += concurrency
            counted = now >= measure_from
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                started = time.perf_counter()
                body = request.get("body")
                conn.request(
                    request.get("method", "GET"),
                    request["path"],
                    body=body.encode() if isinstance(body, str) else body,
                    headers=request.get("headers", {}),
                )
                response = conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                if counted:
                    with lock:
                        latencies.append(elapsed)
                        key = str(response.status)
                        statuses[key] = statuses.get(key, 0) + 1
                        received[0] += len(data)
            except (OSError, http.client.HTTPException) as error:
                if conn is not None:
                    conn.close()
                conn = None
                if counted:
                    with lock:
                        name = type(error).__name__
                        errors[name] = errors.get(name, 0) + 1
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    end = time.perf_counter()
    measured_start.append(measure_from)
    elapsed = end - max(start, measure_from) if duration else end - start
    ok = sum(n for status, n in statuses.items() if status.startswith("2"))
    return {
        "requests": sum(statuses.values()) + sum(errors.values()),
        "statuses": statuses,
        "errors": errors,
        "ok": ok,
        "elapsed": elapsed,
        "ok_per_s": ok / elapsed if elapsed > 0 else None,
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "bytes": received[0],
        "concurrency": concurrency,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def run_in_process(spec: dict, spec_path) -> dict:
    """Run the load generator as a separate Python process; its JSON result."""
    import subprocess
    from pathlib import Path

    Path(spec_path).write_text(json.dumps(spec))
    timeout = float(spec.get("duration") or 0) + float(spec.get("warmup") or 0) + 900
    result = subprocess.run(
        [sys.executable, __file__, str(spec_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        print(json.dumps(run(json.load(handle))))
