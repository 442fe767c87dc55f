"""Two deadline sweeps at once (real transactions, two connections): every colour change and
every rung is made and reported by exactly one of them (SKIP LOCKED on PostgreSQL, serialised
IMMEDIATE transactions on SQLite, the compare-and-set on both).

SQLite's in-memory test database (shared cache) answers a concurrent writer with "table is
locked" instead of waiting, so, like tests/test_cases_concurrency.py, this runs on PostgreSQL."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from shequ.core import deadlines
from shequ.core.deadlines import Deadline, LimitUnit, deadline_start, deadlines_sweep
from tests.support.concurrency import run_together

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="thread races run on PostgreSQL (DATABASE_URL=postgres://…)",
)

KIND = "tests.concurrent"
LADDER = [
    {"after": 0, "unit": "work_hours", "level": "community"},
    {"after": 4, "unit": "work_hours", "level": "township"},
]


@pytest.fixture
def calls():
    seen: dict[str, list] = {"level": [], "escalate": []}
    deadlines.register_kind(
        KIND,
        label="并发测试",
        on_level=lambda rows: seen["level"].extend((r.pk, r.level) for r in rows),
        on_escalate=lambda rows: seen["escalate"].extend((r.pk, r.rung) for r in rows),
    )
    yield seen
    deadlines.unregister_kind(KIND)


@pytest.mark.usefixtures("reseed_after_flush", "transactional_db")
def test_two_sweeps_at_once_report_each_change_once(calls):
    with time_machine.travel(timezone.make_aware(dt.datetime(2026, 11, 26, 9, 0)), tick=False):
        ids = sorted(
            deadline_start(
                subject=("tests.item", n),
                kind=KIND,
                amount=2,
                unit=LimitUnit.WORK_DAYS,
                region_code="321181001001001",
                ladder=LADDER,
            ).pk
            for n in range(6)
        )
    moment = timezone.make_aware(dt.datetime(2026, 12, 9, 9, 0))
    results = run_together(lambda: deadlines_sweep(now=moment), lambda: deadlines_sweep(now=moment))
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.red for r in results) == 6
    assert sorted(pk for pk, _level in calls["level"]) == ids
    # Each rung climbed is reported once (a late pair of sweeps may climb two rungs of a row).
    assert len(calls["escalate"]) == len(set(calls["escalate"]))
    assert len(calls["escalate"]) == sum(r.escalated for r in results)
    assert len(calls["escalate"]) == sum(Deadline.objects.values_list("rung", flat=True)) >= 6
