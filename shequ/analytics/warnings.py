"""Early-warning rules v1 (pure detection; `services.warnings_refresh` stores the results).

1. Spike (案件量异常): a grid × category (小类) whose count of valid reports in a week
   (Monday–Sunday, local time) exceeds mean + 3σ of the previous 8 weeks (population σ, weeks
   without reports count as 0) and is at least 5.
2. Repeat location (反复发生, 未诉先办): at least 3 valid reports within 30 m of one of them in
   the last 30 days, any category. Clusters are formed greedily around the report with the most
   neighbours, so a report belongs to one cluster.

Valid reports exclude cases merged as duplicates (the same incident reported twice) and voided
ones.
"""

import datetime as dt
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.utils import timezone

from shequ.cases.indicators import EXCLUDED
from shequ.cases.models import Case

SPIKE_WEEKS = 8
SPIKE_SIGMAS = 3
SPIKE_MIN = 5
REPEAT_RADIUS_M = 30
REPEAT_DAYS = 30
REPEAT_MIN = 3
MAX_CASE_IDS = 200
METRES_PER_DEGREE = 111_320


@dataclass
class Finding:
    kind: str
    region_code: str
    period_start: dt.date
    period_end: dt.date
    count: int
    case_ids: list[int]
    category_id: int | None = None
    mean: float | None = None
    sd: float | None = None
    lat: float | None = None
    lng: float | None = None
    extra: dict = field(default_factory=dict)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone())


def _week_start(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value - dt.timedelta(days=value.weekday())


def spike_findings(week_start: dt.date, *, today: dt.date) -> list[Finding]:
    """Spikes in the week starting `week_start` (a Monday), counted up to `today`."""
    first = week_start - dt.timedelta(weeks=SPIKE_WEEKS)
    finish = min(week_start + dt.timedelta(days=7), today + dt.timedelta(days=1))
    rows = (
        Case.objects.filter(
            reported_at__gte=_local_midnight(first), reported_at__lt=_local_midnight(finish)
        )
        .exclude(status__in=EXCLUDED)
        .annotate(week=TruncWeek("reported_at", tzinfo=timezone.get_current_timezone()))
        .values("region_code", "category_id", "week")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple[str, int], dict[dt.date, int]] = defaultdict(dict)
    for row in rows:
        counts[(row["region_code"], row["category_id"])][_week_start(row["week"])] = row["n"]
    previous = [week_start - dt.timedelta(weeks=i) for i in range(1, SPIKE_WEEKS + 1)]
    flagged = []
    for (grid, category_id), weeks in counts.items():
        n = weeks.get(week_start, 0)
        if n < SPIKE_MIN:
            continue
        history = [weeks.get(w, 0) for w in previous]
        mean, sd = statistics.fmean(history), statistics.pstdev(history)
        if n > mean + SPIKE_SIGMAS * sd:
            flagged.append((grid, category_id, n, mean, sd))
    findings = []
    for grid, category_id, n, mean, sd in sorted(flagged):
        ids = list(
            Case.objects.filter(
                region_code=grid,
                category_id=category_id,
                reported_at__gte=_local_midnight(week_start),
                reported_at__lt=_local_midnight(finish),
            )
            .exclude(status__in=EXCLUDED)
            .order_by("id")
            .values_list("id", flat=True)[:MAX_CASE_IDS]
        )
        findings.append(
            Finding(
                kind="spike",
                region_code=grid,
                category_id=category_id,
                period_start=week_start,
                period_end=finish - dt.timedelta(days=1),
                count=n,
                case_ids=ids,
                mean=mean,
                sd=sd,
            )
        )
    return findings


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Equirectangular distance — exact enough within a few hundred metres."""
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return math.hypot(x, y) * 6_371_000


def repeat_findings(*, today: dt.date) -> list[Finding]:
    """Clusters of ≥ 3 valid reports within 30 m in the 30 days ending `today`."""
    start = today - dt.timedelta(days=REPEAT_DAYS - 1)
    # (lat and lng are never None here: lat__isnull=False, lng__isnull=False)
    rows = (
        Case.objects.filter(
            reported_at__gte=_local_midnight(start),
            reported_at__lt=_local_midnight(today + dt.timedelta(days=1)),
            lat__isnull=False,
            lng__isnull=False,
        )
        .exclude(status__in=EXCLUDED)
        .order_by("id")
        .values_list("id", "lat", "lng", "region_code")
    )
    points = cast(list[tuple[int, float, float, str]], list(rows))
    cell = REPEAT_RADIUS_M / METRES_PER_DEGREE  # one cell ≥ 30 m in both directions
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, (_id, lat, lng, _grid) in enumerate(points):
        buckets[(int(lat // cell), int(lng // cell))].append(index)
    neighbours: dict[int, set[int]] = {}
    for index, (_id, lat, lng, _grid) in enumerate(points):
        row, col = int(lat // cell), int(lng // cell)
        near = set()
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                for other in buckets.get((row + dr, col + dc), ()):
                    if other != index:
                        o = points[other]
                        if distance_m(lat, lng, o[1], o[2]) <= REPEAT_RADIUS_M:
                            near.add(other)
        if len(near) >= REPEAT_MIN - 1:
            neighbours[index] = near
    used: set[int] = set()
    findings = []
    for index in sorted(neighbours, key=lambda i: (-len(neighbours[i]), points[i][0])):
        if index in used:
            continue
        members = {index} | (neighbours[index] - used)
        if len(members) < REPEAT_MIN:
            continue
        used |= members
        _id, lat, lng, grid = points[index]
        findings.append(
            Finding(
                kind="repeat",
                region_code=grid,
                period_start=start,
                period_end=today,
                count=len(members),
                case_ids=sorted(points[m][0] for m in members)[:MAX_CASE_IDS],
                lat=lat,
                lng=lng,
            )
        )
    return findings


def findings(now: dt.datetime | None = None) -> list[Finding]:
    """Both rules: spikes of this week (to date) and last week, repeat locations."""
    today = timezone.localdate(now or timezone.now())
    this_week = today - dt.timedelta(days=today.weekday())
    return [
        *spike_findings(this_week - dt.timedelta(weeks=1), today=today),
        *spike_findings(this_week, today=today),
        *repeat_findings(today=today),
    ]
