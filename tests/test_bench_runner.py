"""The benchmark runner (benchmarks/run.py): what it reports and its exit status.

Fake bench scripts in a temporary directory stand in for the real ones: they save results
through benchmarks/common.py like the real scripts do, or crash, hang or save nothing.
"""

import json
import textwrap
from pathlib import Path

import pytest

from benchmarks import common, run
from benchmarks.common import run_date

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from benchmarks.common import metric, save
{body}
"""


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    results = tmp_path / "results"
    monkeypatch.setattr(run, "BENCH_DIR", scripts)
    monkeypatch.setenv("SHEQU_BENCH_RESULTS", str(results))

    def add(name: str, body: str) -> None:
        (scripts / f"bench_{name}.py").write_text(
            SCRIPT.format(root=str(ROOT), body=textwrap.dedent(body))
        )

    add.results = results
    return add


def saving(name: str, rows: str) -> str:
    return f"""
    scale, db = sys.argv[sys.argv.index("--scale") + 1], sys.argv[sys.argv.index("--db") + 1]
    save({name!r}, scale, db, [{rows}])
    """


def table(results: Path) -> str:
    return (results / f"{run_date()}-small-sqlite.md").read_text()


def summary(results: Path) -> dict:
    return json.loads((results / f"{run_date()}-small-sqlite.json").read_text())


def test_measured_and_passing_metrics_exit_zero(bench_dir):
    bench_dir(
        "good",
        saving(
            "good",
            'metric("good.rate", 500.0, "req/s", reference=1000.0, target=200, '
            'ratio_target=0.3, higher_is_better=True, note="a | b"), '
            'metric("good.info", 3, "things")',
        ),
    )
    assert run.main(["--only", "good"]) == 0
    md = table(bench_dir.results)
    assert "| metric | value | unit | reference | ratio | target | pass | note |" in md
    row = next(line for line in md.splitlines() if line.startswith("| good.rate "))
    cells = [c.strip() for c in row.split(" | ")]
    assert cells[1:7] == ["500", "req/s", "1000", "0.50", "≥ 200 and ratio ≥ 0.3", "yes"]
    assert "a \\| b" in row  # a pipe in a note does not break the table
    info = next(line for line in md.splitlines() if line.startswith("| good.info "))
    assert "| – |" in info  # informational: neither passed nor failed
    data = summary(bench_dir.results)
    assert [m["metric"] for m in data["metrics"]] == ["good.rate", "good.info"]
    assert data["failed_scripts"] == []


def test_unmeasured_metric_is_missing_never_passed(bench_dir):
    bench_dir(
        "partial",
        saving(
            "partial",
            'metric("partial.latency", None, "ms", target=300, note="endpoint not installed")',
        ),
    )
    assert run.main(["--only", "partial"]) == 0  # the script worked: CI stays green
    row = next(m for m in summary(bench_dir.results)["metrics"])
    assert row["value"] is None and row["pass"] is None
    md = table(bench_dir.results)
    line = next(line for line in md.splitlines() if line.startswith("| partial.latency "))
    assert "| missing |" in line and "**missing**" in line and "yes" not in line
    assert run.main(["--only", "partial", "--strict"]) == 2


def test_metric_helper_never_passes_without_a_value():
    assert common.metric("x", None, "ms", target=1)["pass"] is None
    assert common.metric("x", None, "ms", reference=3, ratio_target=0.5)["ratio"] is None
    assert common.metric("x", 2, "ms", target=1)["pass"] is False
    assert common.metric("x", 2, "/s", target=1, higher_is_better=True)["pass"] is True
    assert common.missing("x", "ms", "why", target=1)["pass"] is None


def test_missed_target_fails_only_in_strict_mode(bench_dir):
    bench_dir("slow", saving("slow", 'metric("slow.p99", 900.0, "ms", target=300)'))
    assert run.main(["--only", "slow"]) == 0
    assert "**no**" in table(bench_dir.results)
    assert run.main(["--only", "slow", "--strict"]) == 2


def test_crashing_script_fails_the_run_and_is_reported(bench_dir):
    bench_dir("good", saving("good", 'metric("good.info", 1, "x")'))
    bench_dir("boom", "raise RuntimeError('benchmark broke')")
    assert run.main(["--only", "good", "boom"]) == 1
    data = summary(bench_dir.results)
    assert data["failed_scripts"] == [{"script": "boom", "reason": "exit status 1"}]
    assert [m["metric"] for m in data["metrics"]] == ["good.info"]  # the others still count
    md = table(bench_dir.results)
    assert "| boom (script) | missing |" in md and "**failed**" in md


def test_script_that_saves_nothing_counts_as_crashed(bench_dir):
    bench_dir("quiet", "print('nothing saved')")
    assert run.main(["--only", "quiet"]) == 1
    assert "saved no results" in table(bench_dir.results)


def test_stale_results_of_an_earlier_run_do_not_count(bench_dir):
    bench_dir("good", saving("good", 'metric("good.info", 1, "x")'))
    assert run.main(["--only", "good"]) == 0
    bench_dir("good", "raise SystemExit(3)")
    assert run.main(["--only", "good"]) == 1
    assert summary(bench_dir.results)["metrics"] == []


def test_hanging_script_times_out(bench_dir):
    bench_dir("hang", "import time\ntime.sleep(30)")
    assert run.main(["--only", "hang", "--timeout", "1"]) == 1
    assert "timed out after 1 s" in table(bench_dir.results)


def test_full_run_lists_every_expected_metric(bench_dir):
    bench_dir(
        "geo",
        saving(
            "geo",
            'metric("geo.locate.batch", 3e5, "points/s", target=200000, higher_is_better=True)',
        ),
    )
    assert run.main([]) == 0
    rows = {m["metric"]: m for m in summary(bench_dir.results)["metrics"]}
    assert rows["geo.locate.batch"]["pass"] is True
    expected = {prefix for prefix, _what, _target in run.EXPECTED}
    for prefix in expected - {"geo.locate.batch"}:
        assert rows[prefix]["value"] is None and rows[prefix]["pass"] is None, prefix
    md = table(bench_dir.results)
    line = next(line for line in md.splitlines() if line.startswith("| points.redeem "))
    assert "**missing**" in line and "not measured in this run" in line


def test_rerunning_one_script_keeps_the_others_rows(bench_dir):
    bench_dir("geo", saving("geo", 'metric("geo.locate.batch", 3e5, "points/s")'))
    bench_dir("boom", "raise RuntimeError")
    assert run.main([]) == 1
    bench_dir("boom", saving("boom", 'metric("boom.fixed", 1, "x")'))
    assert run.main(["--only", "boom"]) == 0
    data = summary(bench_dir.results)
    names = [m["metric"] for m in data["metrics"]]
    assert names[:2] == ["geo.locate.batch", "boom.fixed"]
    assert "points.redeem" in names  # the full run's missing rows are still listed
    assert data["failed_scripts"] == []


def test_results_named_after_the_django_vendor_count_on_postgres(bench_dir):
    bench_dir("vendor", 'save("vendor", "small", "postgresql", [metric("vendor.x", 1, "x")])')
    assert run.main(["--only", "vendor", "--db", "postgres"]) == 0
    data = json.loads((bench_dir.results / f"{run_date()}-small-postgres.json").read_text())
    assert [m["metric"] for m in data["metrics"]] == ["vendor.x"]


def test_result_files_carry_the_runners_date_not_the_scripts_local_one(tmp_path, monkeypatch):
    """Around midnight a script (its clock in Asia/Shanghai after django.setup()) and the runner
    (the machine's clock) disagreed on the date, and the runner found no results."""
    import datetime as dt

    monkeypatch.setenv("SHEQU_BENCH_RESULTS", str(tmp_path))
    monkeypatch.setenv("SHEQU_BENCH_DATE", "2030-01-02")
    path = common.save("probe", "small", "sqlite", [])
    assert path.name == "2030-01-02-probe-small-sqlite.json"
    monkeypatch.delenv("SHEQU_BENCH_DATE")
    assert run_date() == dt.datetime.now(dt.UTC).date().isoformat()
