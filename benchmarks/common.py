"""Shared helpers for the benchmark scripts: a dedicated database per scale, timing, results.

Each script measures metrics and writes them to benchmarks/results/<date>-<name>-<scale>-<db>.json
as {"metric", "value", "unit", "reference", "ratio", "target", "pass"} rows plus a machine
description. A metric that could not be measured is recorded with value None and pass None —
never as passed.
"""

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
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
    seed(manage, env, scale, data_dir(scale, db) / "seed.json")
    import django

    django.setup()
    return url


def configure_url(url: str, scale: str, name: str) -> str:
    """Point Django at a database given by URL (e.g. an existing city-scale one), migrated and
    seeded on first use; its media and keys live under var/bench/<scale>-<name>."""
    os.environ.update(SHEQU_ENV="demo", DATABASE_URL=url)
    os.environ.setdefault("SHEQU_VAR_DIR", str(ROOT / "var" / "bench" / f"{scale}-{name}"))
    var = Path(os.environ["SHEQU_VAR_DIR"])
    var.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
    sys.path.insert(0, str(ROOT))
    env = dict(os.environ)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True)
    seed(manage, env, scale, var / "seed.json")
    import django

    django.setup()
    return url


SEED_TOTAL = re.compile(r"完成：([\d.]+) s，峰值内存 (\d+) MB")
SEED_STEP = re.compile(r"^  (\w+): ([\d.]+) s \(peak RSS (\d+) MB\)", re.MULTILINE)


def seed(manage: list[str], env: dict, scale: str, record: Path) -> dict | None:
    """`seed_demo --if-empty`; when it seeds, its time, peak memory and per-app times go to
    `record` (JSON) so any script can report them. Returns the record (None if never seen)."""
    started = time.perf_counter()
    result = subprocess.run(
        [*manage, "seed_demo", "--if-empty", "--scale", scale],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    print(result.stdout, end="", flush=True)
    total = SEED_TOTAL.search(result.stdout)
    if total:
        figures = {
            "scale": scale,
            "seconds": float(total[1]),
            "wall_seconds": time.perf_counter() - started,
            "peak_rss_mb": float(total[2]),
            "steps": {m[1]: float(m[2]) for m in SEED_STEP.finditer(result.stdout)},
            "log": result.stdout,
        }
        record.write_text(json.dumps(figures, ensure_ascii=False, indent=2))
        return figures
    if record.exists():
        return json.loads(record.read_text())
    return None


def seed_figures(scale: str, db: str) -> dict | None:
    record = data_dir(scale, db) / "seed.json"
    return json.loads(record.read_text()) if record.exists() else None


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
    expected: bool = False,
) -> dict:
    """One result row. `value` None means "could not be measured": pass stays None and the
    runner shows it as missing — never as passed."""
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
        "higher_is_better": higher_is_better,
        "note": note,
        **({"expected": True} if expected else {}),
    }


def missing(name: str, unit: str, note: str, **targets) -> dict:
    """A metric that could not be measured (the reason in the note)."""
    return metric(name, None, unit, note=note, **targets)


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": _cpu_model() or platform.processor() or platform.machine(),
        "memory_gb": _memory_gb(),
    }


def machine_text() -> str:
    m = machine()
    memory = f", {m['memory_gb']} GB RAM" if m.get("memory_gb") else ""
    return f"{m['cpus']} × {m['processor']}{memory}; {m['platform']}; Python {m['python']}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _memory_gb() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        return None


def results_dir() -> Path:
    """benchmarks/results, or SHEQU_BENCH_RESULTS (the runner's tests use a temporary one)."""
    path = Path(os.environ.get("SHEQU_BENCH_RESULTS") or RESULTS)
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_date() -> str:
    """The date in result file names: the runner's (SHEQU_BENCH_DATE, set once per `make
    bench`), else today in UTC. Never the local date: after django.setup() a script's clock is
    in Asia/Shanghai while the runner's is the machine's, and around midnight the runner then
    looked for a file of another day."""
    return os.environ.get("SHEQU_BENCH_DATE") or datetime.now(UTC).date().isoformat()


def save(name: str, scale: str, db: str, metrics: list[dict]) -> Path:
    path = results_dir() / f"{run_date()}-{name}-{scale}-{db}.json"
    path.write_text(
        json.dumps(
            {
                "name": name,
                "scale": scale,
                "db": db,
                "date": run_date(),
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


__all__ = [
    "configure",
    "metric",
    "missing",
    "percentile",
    "print_table",
    "save",
    "statistics",
    "timed",
]
