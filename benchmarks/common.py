"""Shared helpers for the benchmark scripts: a dedicated database per scale, timing, results.

Each script measures metrics and writes them to benchmarks/results/<date>-<name>-<scale>-<db>.json
as {"metric", "value", "unit", "reference", "ratio", "target", "pass"} rows plus a machine
description. A metric that could not be measured is recorded with value None and pass None —
never as passed.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def data_dir(scale: str, db: str) -> Path:
    path = ROOT / "var" / "bench" / f"{scale}-{db}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(scale: str, db: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{data_dir(scale, db)}/bench.sqlite3"
    base = os.environ.get("SHEQU_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    return f"{base}/shequ_bench_{scale}"


def configure(scale: str, db: str) -> str:
    """Point Django at the benchmark database (created and seeded on first use)."""
    url = database_url(scale, db)
    os.environ.update(SHEQU_ENV="demo", DATABASE_URL=url, SHEQU_VAR_DIR=str(data_dir(scale, db)))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
    sys.path.insert(0, str(ROOT))
    if db == "postgres":
        _ensure_pg_database(url)
    env = dict(os.environ)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True)
    subprocess.run([*manage, "seed_demo", "--if-empty", "--scale", scale], env=env, check=True)
    import django

    django.setup()
    return url


def _ensure_pg_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn, repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def metric(
    name: str,
    value,
    unit: str,
    *,
    reference=None,
    target=None,
    higher_is_better=False,
    ratio_target=None,
    note: str = "",
) -> dict:
    ratio = (value / reference) if value is not None and reference else None
    passed = None
    if value is not None:
        checks = []
        if target is not None:
            checks.append(value >= target if higher_is_better else value <= target)
        if ratio_target is not None and ratio is not None:
            checks.append(ratio >= ratio_target if higher_is_better else ratio <= ratio_target)
        passed = all(checks) if checks else None
    return {
        "metric": name,
        "value": value,
        "unit": unit,
        "reference": reference,
        "ratio": ratio,
        "target": target,
        "ratio_target": ratio_target,
        "pass": passed,
        "note": note,
    }


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def save(name: str, scale: str, db: str, metrics: list[dict]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{date.today():%Y-%m-%d}-{name}-{scale}-{db}.json"
    path.write_text(
        json.dumps(
            {
                "name": name,
                "scale": scale,
                "db": db,
                "date": str(date.today()),
                "machine": machine(),
                "metrics": metrics,
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )
    return path


def print_table(metrics: list[dict]) -> None:
    print(f"{'metric':38} {'value':>14} {'unit':10} {'reference':>12} {'ratio':>7} {'pass':>5}")
    for m in metrics:
        value = "missing" if m["value"] is None else f"{m['value']:.4g}"
        ref = "" if m["reference"] is None else f"{m['reference']:.4g}"
        ratio = "" if m["ratio"] is None else f"{m['ratio']:.2f}"
        passed = {True: "yes", False: "NO", None: "-"}[m["pass"]]
        print(f"{m['metric']:38} {value:>14} {m['unit']:10} {ref:>12} {ratio:>7} {passed:>5}")


__all__ = ["configure", "metric", "percentile", "print_table", "save", "statistics", "timed"]
