"""Random closed-loop cases and an independent, row-by-row computation of the indicators
(governance rules §3), for the cockpit tests."""

import datetime as dt
import random

from django.utils import timezone

from shequ.cases.models import Case, Category

HANDLING = {"dispatched", "accepted"}
EXCLUDED = {"merged", "voided"}


def random_cases(grids: list[str], *, n: int, seed: int, start: dt.date, days: int) -> list[Case]:
    """`n` cases spread over `grids` and `days` days from `start`, in every status."""
    rng = random.Random(seed)
    small = list(Category.objects.filter(parent__isnull=False).order_by("code")[:12])
    tz = timezone.get_current_timezone()
    anchor = None
    made = []
    for i in range(n):
        reported = dt.datetime.combine(
            start + dt.timedelta(days=rng.randrange(days)),
            dt.time(rng.randrange(24), rng.randrange(60)),
            tzinfo=tz,
        )
        status = rng.choice(
            [
                "reported",
                "registered",
                "dispatched",
                "accepted",
                "handled",
                "closed",
                "closed",
                "closed",
                "voided",
                "merged",
            ]
        )
        if status == "merged" and anchor is None:
            status = "closed"
        registered = None
        if status != "reported" and not (status == "voided" and rng.random() < 0.5):
            registered = reported + dt.timedelta(hours=rng.choice([0, 1, 5, 30]))
        dispatched = due = handled = closed_at = None
        if status in {"dispatched", "accepted", "handled", "closed"}:
            dispatched = registered + dt.timedelta(hours=1)
            due = dispatched + dt.timedelta(hours=rng.choice([4, 24, 72, 200]))
        if status in {"handled", "closed"}:
            handled = dispatched + dt.timedelta(hours=rng.choice([2, 10, 50, 120, 300]))
        if status == "closed":
            closed_at = handled + dt.timedelta(hours=3)
        grid = rng.choice(grids)
        case = Case.objects.create(
            code=f"R{seed:03d}{i:05d}",
            category=rng.choice(small),
            channel="resident",
            status=status,
            priority="normal",
            description="随机案件",
            region_code=grid,
            handler_type="grid",
            handler_unit_code=grid,
            reported_at=reported,
            registered_at=registered,
            dispatched_at=dispatched,
            due_at=due,
            handled_at=handled,
            closed_at=closed_at,
            handling_seconds=(rng.randrange(1, 40) * 1800) if status == "closed" else None,
            satisfaction=rng.choice(["", "satisfied", "basic", "unsatisfied"])
            if status == "closed"
            else "",
            rework_count=rng.choice([0, 0, 0, 1, 2]),
            extension_count=rng.choice([0, 0, 0, 1]),
            void_reason="无效" if status == "voided" else "",
            merged_into=anchor if status == "merged" else None,
        )
        if anchor is None and status == "closed":
            anchor = case
        made.append(case)
    return made


def reference(region: str, start: dt.date, end: dt.date, now: dt.datetime, category=None) -> dict:
    """The indicators computed row by row in Python (no SQL aggregation)."""
    tz = timezone.get_current_timezone()
    begin = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    rows = [
        c
        for c in Case.objects.select_related("category__parent")
        if c.region_code.startswith(region)
        and (
            category is None
            or c.category.code == category
            or (c.category.parent and c.category.parent.code == category)
        )
    ]
    reported = [c for c in rows if begin <= c.reported_at < finish]
    cohort = [
        c
        for c in rows
        if c.registered_at and begin <= c.registered_at < finish and c.status not in EXCLUDED
    ]
    closed = [c for c in cohort if c.status == "closed"]
    overdue = [c for c in cohort if c.status in HANDLING and c.due_at < now]
    due = len(closed) + len(overdue)
    rated = [c for c in closed if c.satisfaction]

    def rate(a, b):
        return a / b if b else None

    satisfied = sum(c.satisfaction == "satisfied" for c in rated)
    basic = sum(c.satisfaction == "basic" for c in rated)
    handled_secs = [c.handling_seconds for c in closed if c.handling_seconds is not None]
    valid = len(reported) - sum(c.status in EXCLUDED for c in reported)
    should_handle = [c for c in cohort if c.dispatched_at or c.status == "closed"]
    return {
        "reports": len(reported),
        "valid_reports": valid,
        "registered": len(cohort),
        "registration_rate": rate(len(cohort), valid),
        "closed": len(closed),
        "overdue_open": len(overdue),
        "due": due,
        "closure_rate": rate(len(closed), due),
        "on_time_rate": rate(sum(c.handled_at <= c.due_at for c in closed), due),
        "rework_rate": rate(sum(c.rework_count > 0 for c in cohort), due),
        "extension_rate": rate(sum(c.extension_count > 0 for c in cohort), len(should_handle)),
        "avg_handling_hours": (sum(handled_secs) / len(handled_secs) / 3600)
        if handled_secs
        else None,
        "satisfaction_rate": rate(satisfied + 0.9 * basic, len(rated)),
    }


def assert_close(actual: dict, expected: dict) -> None:
    for key, value in expected.items():
        got = actual[key]
        if value is None or got is None:
            assert got == value, (key, got, value)
        else:
            assert abs(got - value) < 1e-9, (key, got, value)
