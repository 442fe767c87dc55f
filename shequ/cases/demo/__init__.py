"""Demo cases: a year of the closed loop at small scale (≈ 3,000 cases), five years at city
scale (5,000,000 cases through a bulk path: PostgreSQL COPY).

Each case is simulated through the same steps the services take — report, 立案, 派遣 (due by the
category's limit on the working calendar), 接单, 延期, 处理反馈, 返工, 核查结案, 评价/回访, 重办 —
then cut at "now", so open cases sit in every status, some yellow, some overdue and escalated.
Patterns: more reports on weekdays and in working hours (patrols only then), summer brings more
greenery, litter and noise, winter more heating/water faults, the weeks before the Spring
Festival more 民生 requests; about 8 % of handlings run late, 6 % are extended, 4 % reworked.

"Now" is the start of today (local time), so seeding is deterministic within a day. The city
path writes abbreviated timelines (the report and the latest transition per case) to keep the
database at a manageable size; the small path writes every step.

A package: `patterns` (volumes, weights, words), `world` (grids, buildings, actors), `sampling`
and `simulation` (the simulator), `small` (the small scale, photos and extras), `inbox` (the
demo grid worker's work), `bulk` (COPY at city scale). `shequ.demo.seeding` reads `SEED_ORDER`,
`seed` and `DIGEST` from here.
"""

import datetime as dt

from django.utils import timezone

from shequ.cases.demo.bulk import seed_bulk
from shequ.cases.demo.patterns import CASES, YEARS, Actors, Place, SimCase
from shequ.cases.demo.simulation import Simulator
from shequ.cases.demo.small import seed_small
from shequ.cases.models import Case, CaseEvent
from shequ.demo.seeding import SeedContext

SEED_ORDER = 40


def _now_and_start(scale: str) -> tuple[dt.datetime, dt.datetime]:
    today = timezone.localdate()
    now = dt.datetime.combine(today, dt.time())
    start = (
        now.replace(year=now.year - YEARS[scale])
        if not (today.month == 2 and today.day == 29)
        else now - dt.timedelta(days=365 * YEARS[scale])
    )
    return now, start


def seed(ctx: SeedContext) -> None:
    now, start = _now_and_start(ctx.scale)
    simulator = Simulator(ctx, now=now, start=start, n=CASES[ctx.scale])
    if ctx.scale in ("city", "medium"):
        seed_bulk(ctx, simulator)
    else:
        seed_small(ctx, simulator)


def DIGEST():
    # The simulation ends at today's midnight; the reports the demo grid worker's inbox is topped
    # up with (inbox.py) are filed through case_report at the real time with a fresh code, so
    # they are not part of what a seed determines.
    simulated = Case.objects.filter(
        reported_at__lt=timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time()))
    )
    yield (
        "cases",
        simulated.order_by("code").values_list(
            "code",
            "category__code",
            "status",
            "region_code",
            "reported_at",
            "due_at",
            "handler_type",
            "satisfaction",
            "sla_level",
        ),
    )
    yield (
        "case_events",
        CaseEvent.objects.filter(case__in=simulated)
        .order_by("case__code", "at", "id")
        .values_list("case__code", "action", "at", "to_status"),
    )


__all__ = [
    "CASES",
    "DIGEST",
    "SEED_ORDER",
    "YEARS",
    "Actors",
    "Place",
    "SimCase",
    "Simulator",
    "seed",
    "seed_bulk",
    "seed_small",
]
