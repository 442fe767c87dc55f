"""Run the benchmark suite: every benchmarks/bench_*.py at one scale on one database.

  python benchmarks/run.py --scale small|medium|city --db sqlite|postgres [--only geo http]
                           [--timeout 1800] [--strict]

Each script saves its own JSON (see benchmarks/common.py); this runner collects them into
benchmarks/results/<date>-<scale>-<db>.json and a Markdown table beside it. With --only, the
other scripts' rows of the day's earlier run are kept (the named scripts' rows are replaced).

Never "passed" without a measurement: a script that crashes, times out or saves nothing, a
metric without a value, and a metric of the suite's list (EXPECTED) that no script measured are
all reported as missing.

Exit status: 1 when a script crashed, timed out or saved nothing (CI fails on this: the suite
must keep working); otherwise 0 — missed targets and missing metrics are in the table. With
`--strict`, 2 when a metric with a target did not pass or is missing.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402
from benchmarks.common import run_date  # noqa: E402

BENCH_DIR = ROOT / "benchmarks"

# The suite's metrics (issue 9) with their targets: a row for each must appear in every run,
# measured or marked missing. (prefix of the metric names, what it is, target.)
EXPECTED = [
    ("geo.locate.batch", "batch points/s vs shapely STRtree", "≥ 200,000/s and ratio ≥ 0.5"),
    ("http.case_create", "Open311 POST at concurrency 16 vs /healthz", "ratio ≥ 0.3, p99 ≤ 300 ms"),
    ("cases.inbox", "grid worker's inbox p95", "≤ 150 ms at 5 M cases"),
    ("people.search", "p95 by name prefix and exact ID", "≤ 200 ms at 1 M people"),
    ("people.import", "100,000-row xlsx vs openpyxl parse", "≤ 3×"),
    ("cockpit.city_month", "p95 warm/cold vs DuckDB", "≤ 500 ms / ≤ 2 s"),
    ("points.redeem", "redemptions/s at concurrency 32 (PostgreSQL)", "≥ 300/s, 0 violations"),
    ("cases.sla_sweep", "seconds per sweep, 100,000 open cases", "≤ 5 s"),
    ("memory", "peak RSS of one web worker after 10,000 requests", "≤ 250 MB"),
    ("pageweight", "resident home and report pages in Chromium", "≤ 300 KB, HTML ≤ 50 KB"),
    ("queue.drain", "database task queue, tasks/s with 4 workers", "reported (no target)"),
]


def scripts(only: list[str] | None, directory: Path | None = None) -> list[Path]:
    found = sorted((directory or BENCH_DIR).glob("bench_*.py"))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only]
    return found


def missing_expected(rows: list[dict]) -> list[dict]:
    """A 'missing' row for every expected metric no script produced."""
    names = [m["metric"] for m in rows]
    return [
        common.metric(
            prefix,
            None,
            "",
            note=f"not measured in this run: {what} (target {target})",
            expected=True,
        )
        for prefix, what, target in EXPECTED
        if not any(name == prefix or name.startswith(prefix + ".") for name in names)
    ]


def status(m: dict) -> str:
    """yes / no / missing / – (informational, no target)."""
    if m.get("pass") is True:
        return "yes"
    if m.get("pass") is False:
        return "**no**"
    has_target = m.get("target") is not None or m.get("ratio_target") is not None
    if m.get("value") is None and (has_target or m.get("expected")):
        return "**missing**"
    return "–"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _number(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown(scale: str, db: str, rows: list[dict], failures: list[dict]) -> str:
    lines = [
        f"# Benchmarks — {run_date()}, scale {scale}, {db}",
        "",
        f"Machine: {common.machine_text()}",
        "",
        "| metric | value | unit | reference | ratio | target | pass | note |",
        "|---|---:|---|---:|---:|---|---|---|",
    ]
    for m in rows:
        ref = "" if m.get("reference") is None else _number(m["reference"])
        ratio = "" if m.get("ratio") is None else f"{m['ratio']:.2f}"
        target = []
        if m.get("target") is not None:
            target.append(f"{'≥' if m.get('higher_is_better') else '≤'} {m['target']}")
        if m.get("ratio_target") is not None:
            sign = "≥" if m.get("higher_is_better") else "≤"
            target.append(f"ratio {sign} {m['ratio_target']}")
        lines.append(
            f"| {_cell(m['metric'])} | {_number(m['value'])} | {_cell(m.get('unit', ''))} | "
            f"{ref} | {ratio} | {' and '.join(target)} | {status(m)} | "
            f"{_cell(m.get('note', ''))} |"
        )
    for failure in failures:
        lines.append(
            f"| {failure['script']} (script) | missing | | | | | **failed** | "
            f"{_cell(failure['reason'])} |"
        )
    return "\n".join(lines) + "\n"


def exit_code(rows: list[dict], failures: list[dict], strict: bool) -> int:
    if failures:
        return 1
    if strict and any(status(m) in ("**no**", "**missing**") for m in rows):
        return 2
    return 0


def run_script(script: Path, scale: str, db: str, timeout: float, results: Path):
    """(metrics, failure or None) of one script."""
    name = script.stem.removeprefix("bench_")
    # Scripts name the file after the database as the runner does ("postgres") or as Django's
    # connection.vendor does ("postgresql"); either counts.
    spellings = [db] + (["postgresql"] if db == "postgres" else [])
    files = [results / f"{run_date()}-{name}-{scale}-{s}.json" for s in spellings]
    for stale in files:
        stale.unlink(missing_ok=True)  # a stale file must not count as this run's result
    env = dict(os.environ, SHEQU_BENCH_RESULTS=str(results), SHEQU_BENCH_DATE=run_date())
    try:
        result = subprocess.run(
            [sys.executable, str(script), "--scale", scale, "--db", db],
            cwd=ROOT,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return [], {"script": name, "reason": f"timed out after {timeout:.0f} s"}
    if result.returncode != 0:
        return [], {"script": name, "reason": f"exit status {result.returncode}"}
    saved = next((path for path in files if path.exists()), None)
    if saved is None:
        return [], {"script": name, "reason": f"saved no results ({files[0].name})"}
    metrics = json.loads(saved.read_text())["metrics"]
    for m in metrics:
        m["script"] = name
    return metrics, None


def merge_previous(path: Path, ran: set[str], rows: list[dict], failures: list[dict]):
    """With --only: keep the other scripts' rows (and failures) of the day's earlier run."""
    if not path.exists():
        return rows, failures, False
    previous = json.loads(path.read_text())
    kept = [
        m
        for m in previous.get("metrics", [])
        if m.get("script") not in ran and not m.get("expected")
    ]
    kept_failures = [f for f in previous.get("failed_scripts", []) if f["script"] not in ran]
    was_full = any(m.get("expected") for m in previous.get("metrics", []))
    return kept + rows, kept_failures + failures, was_full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--only", nargs="*", help="e.g. geo people")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per script")
    parser.add_argument(
        "--strict", action="store_true", help="exit 2 when a target is missed or missing"
    )
    args = parser.parse_args(argv)
    # One date for the whole run (the scripts name their files with it), even across midnight.
    os.environ.setdefault("SHEQU_BENCH_DATE", run_date())
    results = common.results_dir()
    rows, failures = [], []
    for script in scripts(args.only):
        print(f"== {script.stem}", flush=True)
        metrics, failure = run_script(script, args.scale, args.db, args.timeout, results)
        rows.extend(metrics)
        if failure:
            print(f"!! {failure['script']}: {failure['reason']}", flush=True)
            failures.append(failure)
    out = results / f"{run_date()}-{args.scale}-{args.db}"
    full = not args.only
    if args.only:
        ran = {p.stem.removeprefix("bench_") for p in scripts(args.only)}
        rows, failures, full = merge_previous(out.with_suffix(".json"), ran, rows, failures)
    if full:
        rows.extend(missing_expected(rows))
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "scale": args.scale,
                "db": args.db,
                "date": run_date(),
                "machine": common.machine(),
                "metrics": rows,
                "failed_scripts": failures,
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )
    table = markdown(args.scale, args.db, rows, failures)
    out.with_suffix(".md").write_text(table)
    print(table)
    return exit_code(rows, failures, args.strict)


if __name__ == "__main__":
    sys.exit(main())
