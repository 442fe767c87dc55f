"""Run the benchmark suite: every benchmarks/bench_*.py at one scale on one database.

  python benchmarks/run.py --scale small|medium|city --db sqlite|postgres

Each script saves its own JSON (see benchmarks/common.py); this runner collects them into
benchmarks/results/<date>-<scale>-<db>.json and a Markdown table beside it. A script that fails
or a metric without a value is reported as missing — never as passed. Exit status is 1 when a
script failed or a metric with a target did not pass (0 otherwise).
"""

import argparse
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import RESULTS, machine  # noqa: E402


def scripts(only: list[str] | None) -> list[Path]:
    found = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only]
    return found


def markdown(scale: str, db: str, rows: list[dict], failures: list[str]) -> str:
    lines = [
        f"# Benchmarks — {date.today():%Y-%m-%d}, scale {scale}, {db}",
        "",
        f"Machine: {machine()}",
        "",
        "| metric | value | unit | reference | ratio | target | pass | note |",
        "|---|---:|---|---:|---:|---|---|---|",
    ]
    for m in rows:
        value = "missing" if m["value"] is None else f"{m['value']:.4g}"
        ref = "" if m.get("reference") is None else f"{m['reference']:.4g}"
        ratio = "" if m.get("ratio") is None else f"{m['ratio']:.2f}"
        target = []
        if m.get("target") is not None:
            target.append(str(m["target"]))
        if m.get("ratio_target") is not None:
            target.append(f"ratio {m['ratio_target']}")
        passed = {True: "yes", False: "**no**", None: "–"}[m.get("pass")]
        lines.append(
            f"| {m['metric']} | {value} | {m['unit']} | {ref} | {ratio} | "
            f"{' and '.join(target)} | {passed} | {m.get('note', '')} |"
        )
    for failure in failures:
        lines.append(f"| {failure} | missing | | | | | **no** | script failed |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--only", nargs="*", help="e.g. geo people")
    args = parser.parse_args()
    rows, failures = [], []
    for script in scripts(args.only):
        name = script.stem.removeprefix("bench_")
        print(f"== {name}", flush=True)
        saved = RESULTS / f"{date.today():%Y-%m-%d}-{name}-{args.scale}-{args.db}.json"
        saved.unlink(missing_ok=True)  # a stale file must not count as this run's result
        result = subprocess.run(
            [sys.executable, str(script), "--scale", args.scale, "--db", args.db], cwd=ROOT
        )
        if result.returncode != 0 or not saved.exists():
            failures.append(name)
            continue
        rows.extend(json.loads(saved.read_text())["metrics"])
    out = RESULTS / f"{date.today():%Y-%m-%d}-{args.scale}-{args.db}"
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "scale": args.scale,
                "db": args.db,
                "date": str(date.today()),
                "machine": machine(),
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
    bad = failures or [m for m in rows if m.get("pass") is False]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
