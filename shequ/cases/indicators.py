"""Closed-loop indicators (the one definition the cockpit uses), per governance rules §3.

For a region-code prefix R and a period of local dates [start, end] (both inclusive):

  上报数 reports          cases reported in the period (every channel, duplicates included)
  有效上报数 valid_reports reports − those merged as duplicates − those voided (作废)
  立案数 registered        the cohort: cases registered (立案) in the period, except cases later
                          merged as duplicates or voided. Every rate below is over this cohort.
  立案率 registration_rate = 立案数 / 有效上报数 (no fixed denominator in practice; documented here)
  结案数 closed            cohort cases closed (结案) by now
  超期未结 overdue_open     cohort cases still with the handler (待接单 or 处置中) past their due time
  应结案数 due             = 结案数 + 超期未结 — the cases that should be closed by now; open cases
                          not yet due are left out, open cases already overdue count (Austin's
                          fix: on-time / (closed + currently overdue))
  按期结案数 closed_on_time closed cases whose last handling feedback came by the (extended) due time
  结案率 closure_rate       = 结案数 / 应结案数                               (CJ/T 292)
  按期结案率 on_time_rate   = 按期结案数 / 应结案数   (overdue open cases count as late; CJ/T 292)
  返工数 rework            cohort cases sent back at least once (返工, or reopened by the resident)
  返工率 rework_rate        = 返工数 / 应结案数                                 (§3)
  应处置数 should_handle    cohort cases dispatched to a handler
  处置数 handled           cohort cases with a handling feedback
  延期数 extended          cohort cases with at least one approved extension
  延期率 extension_rate     = 延期数 / 应处置数                                 (成都金牛, §3)
  平均处置时长 avg_handling_hours  mean working hours from dispatch to the last handling feedback,
                          over closed cohort cases (工作时 on the working calendar)
  有效回访数 rated          closed cohort cases with a rating (resident) or a successful 回访
  评价回访率 rated_share    = 有效回访数 / 结案数 — the share of closed cases whose reporter
                          rated them (满意/基本满意/不满意) or was reached by a 回访 call; a
                          closed case counts once whatever the number of ratings (the case's
                          current satisfaction). Shows whether 满意率 speaks for most residents.
  满意率 satisfaction_rate = (满意 + 0.9 × 基本满意) / 有效回访数 (the public 12345 三率
                          implementation — not an official formula)

A rate whose denominator is 0 is None (shown as "—"), never 0 or 100 %.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, cast

from django.db.models import Avg, Count, F, Q
from django.db.models.functions import Substr, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases.models import Case
from shequ.cases.workflow import HANDLING_STATUSES, Satisfaction, Status
from shequ.core.errors import InvalidInput
from shequ.core.scoping import prefix_q

GROUPINGS = ("township", "community", "grid", "category", "day", "week", "month")
REGION_LENGTH = {"township": 9, "community": 12, "grid": 15}
TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
EXCLUDED = [Status.MERGED, Status.VOIDED]


@dataclass
class Indicators:
    key: str | None
    reports: int
    valid_reports: int
    registered: int
    registration_rate: float | None
    closed: int
    overdue_open: int
    due: int
    closed_on_time: int
    closure_rate: float | None
    on_time_rate: float | None
    rework: int
    rework_rate: float | None
    should_handle: int
    handled: int
    extended: int
    extension_rate: float | None
    avg_handling_hours: float | None
    rated: int
    rated_share: float | None
    satisfied: int
    basically_satisfied: int
    unsatisfied: int
    satisfaction_rate: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _rate(numerator, denominator) -> float | None:
    return numerator / denominator if denominator else None


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if end < start:
        raise InvalidInput(
            _("结束日期不能早于开始日期。"), code="invalid_period", details={"field": "to"}
        )
    tz = timezone.get_current_timezone()
    begin = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return begin, finish


def _key_expression(group_by: str | None, date_field: str):
    if group_by is None:
        return None
    if group_by in REGION_LENGTH:
        return Substr("region_code", 1, REGION_LENGTH[group_by])
    if group_by == "category":
        return F("category__code")
    return TRUNC[group_by](date_field, tzinfo=timezone.get_current_timezone())


def _key_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (
            timezone.localtime(value).date().isoformat()
            if timezone.is_aware(value)
            else value.date().isoformat()
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def indicators(
    *,
    region: str,
    start: dt.date,
    end: dt.date,
    category: str | None = None,
    group_by: str | None = None,
    now: dt.datetime | None = None,
    using: str = "default",
) -> Indicators | list[Indicators]:
    """The indicators above for region prefix `region` and dates [start, end].

    `category` limits to a category code (a 小类, or a 大类 with all its 小类). With `group_by`
    (township | community | grid | category | day | week | month) a list, one row per key.
    Two queries whatever the grouping. The caller checks the region is in the user's scope.
    `using` names the database alias to read (the cockpit reads a replica when there is one).
    """
    if group_by is not None and group_by not in GROUPINGS:
        raise InvalidInput(
            _("不支持的分组方式：%(g)s。") % {"g": group_by},
            code="invalid_group_by",
            details={"field": "group_by"},
        )
    now = now or timezone.now()
    begin, finish = period_bounds(start, end)
    base = Case.objects.using(using).filter(prefix_q("region_code", region))
    if category:
        base = base.filter(Q(category__code=category) | Q(category__parent__code=category))

    reported = base.filter(reported_at__gte=begin, reported_at__lt=finish)
    report_aggregates = {
        "reports": Count("id"),
        "invalid": Count("id", filter=Q(status__in=EXCLUDED)),
    }
    cohort = base.filter(registered_at__gte=begin, registered_at__lt=finish).exclude(
        status__in=EXCLUDED
    )
    closed = Q(status=Status.CLOSED)
    overdue = Q(status__in=list(HANDLING_STATUSES), due_at__lt=now)
    cohort_aggregates = {
        "registered": Count("id"),
        "closed": Count("id", filter=closed),
        "overdue_open": Count("id", filter=overdue),
        "closed_on_time": Count("id", filter=closed & Q(handled_at__lte=F("due_at"))),
        "rework": Count("id", filter=Q(rework_count__gt=0)),
        "should_handle": Count("id", filter=Q(dispatched_at__isnull=False) | closed),
        "handled": Count("id", filter=Q(handled_at__isnull=False)),
        "extended": Count("id", filter=Q(extension_count__gt=0)),
        "avg_seconds": Avg("handling_seconds", filter=closed),
        "satisfied": Count("id", filter=closed & Q(satisfaction=Satisfaction.SATISFIED)),
        "basically_satisfied": Count("id", filter=closed & Q(satisfaction=Satisfaction.BASIC)),
        "unsatisfied": Count("id", filter=closed & Q(satisfaction=Satisfaction.UNSATISFIED)),
    }
    report_rows: dict[str | None, dict[str, Any]]
    cohort_rows: dict[str | None, dict[str, Any]]
    if group_by is None:
        report_rows = {None: reported.aggregate(**report_aggregates)}
        cohort_rows = {None: cohort.aggregate(**cohort_aggregates)}
    else:
        report_rows = {
            _key_text(row.pop("k")): row
            # The stubs type these rows as a TypedDict, whose keys cannot be popped.
            for row in cast(
                Iterable[dict[str, Any]],
                reported.annotate(k=_key_expression(group_by, "reported_at"))
                .values("k")
                .annotate(**report_aggregates)
                .order_by(),
            )
        }
        cohort_rows = {
            _key_text(row.pop("k")): row
            for row in cast(
                Iterable[dict[str, Any]],
                cohort.annotate(k=_key_expression(group_by, "registered_at"))
                .values("k")
                .annotate(**cohort_aggregates)
                .order_by(),
            )
        }
    keys = sorted(set(report_rows) | set(cohort_rows), key=lambda k: (k is None, k or ""))
    results = [_combine(key, report_rows.get(key), cohort_rows.get(key)) for key in keys]
    if group_by is None:
        return results[0] if results else _combine(None, None, None)
    return results


def _combine(key, reports: dict | None, cohort: dict | None) -> Indicators:
    reports = reports or {"reports": 0, "invalid": 0}
    cohort = cohort or {}
    get = lambda name: cohort.get(name) or 0  # noqa: E731
    valid = reports["reports"] - reports["invalid"]
    registered = get("registered")
    closed = get("closed")
    overdue_open = get("overdue_open")
    due = closed + overdue_open
    rated = get("satisfied") + get("basically_satisfied") + get("unsatisfied")
    avg = cohort.get("avg_seconds")
    return Indicators(
        key=key,
        reports=reports["reports"],
        valid_reports=valid,
        registered=registered,
        registration_rate=_rate(registered, valid),
        closed=closed,
        overdue_open=overdue_open,
        due=due,
        closed_on_time=get("closed_on_time"),
        closure_rate=_rate(closed, due),
        on_time_rate=_rate(get("closed_on_time"), due),
        rework=get("rework"),
        rework_rate=_rate(get("rework"), due),
        should_handle=get("should_handle"),
        handled=get("handled"),
        extended=get("extended"),
        extension_rate=_rate(get("extended"), get("should_handle")),
        avg_handling_hours=None if avg is None else float(avg) / 3600,
        rated=rated,
        rated_share=_rate(rated, closed),
        satisfied=get("satisfied"),
        basically_satisfied=get("basically_satisfied"),
        unsatisfied=get("unsatisfied"),
        satisfaction_rate=_rate(get("satisfied") + 0.9 * get("basically_satisfied"), rated),
    )
