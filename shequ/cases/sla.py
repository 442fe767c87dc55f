"""The SLA sweep: colour the running clocks, mark overdue cases, escalate, tell people.

Runs every minute as a participant of core's one sweep job ("core.deadlines_sweep",
shequ/core/deadlines.py; registered in the app config); `manage.py sla_sweep` runs one sweep of
that job by hand. The step clocks stay on Case: the fast path for millions of cases. Each stage
reads only the partial indexes of cases whose clock runs, and compare-and-sets the colour, so
two sweeps at once never notify twice:

  yellow  80 % of the step's allowed time used (on the step's own clock)  → handler told
  red     the step is overdue                                              → 督办 (supervised),
                                                                             handler and the
                                                                             community told
  up      overdue by the category's grace                                 → one rung up the
                                                                             ladder (the rule of
                                                                             case_escalate, bulk)
"""

import logging
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.accounts.models import Assignment
from shequ.cases.access import HANDLER_ROLE, LEVEL_ROLE
from shequ.cases.models import Case, CaseEvent
from shequ.cases.services.transitions import cases_escalate_due
from shequ.cases.workflow import HandlerType, SlaLevel
from shequ.core.roles import Role
from shequ.notifications.services import notify_bulk

logger = logging.getLogger("shequ.cases.sla")
CHUNK = 2000


@dataclass
class SweepResult:
    yellow: int = 0
    red: int = 0
    escalated: int = 0
    notifications: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "yellow": self.yellow,
            "red": self.red,
            "escalated": self.escalated,
            "notifications": self.notifications,
            "seconds": round(self.seconds, 3),
        }


FIELDS = (
    "id",
    "code",
    "status",
    "category__name",
    "handler_id",
    "handler_type",
    "handler_unit_code",
    "handler_company_id",
    "region_code",
)


def _recipients(rows: list[dict], *, with_dispatchers: bool) -> dict[int, list[int]]:
    """case id → user ids: the handler (or the whole unit), plus the community when asked."""
    region_keys: set[tuple[str, str]] = set()
    companies: set[int] = set()
    for row in rows:
        if row["handler_id"] is None:
            if row["handler_type"] == HandlerType.PROPERTY:
                companies.add(row["handler_company_id"])
            else:
                region_keys.add((HANDLER_ROLE[row["handler_type"]], row["handler_unit_code"]))
        if with_dispatchers:
            region_keys.add((Role.COMMUNITY_STAFF, row["region_code"][:12]))
    by_region: dict[tuple[str, str], list[int]] = {}
    by_company: dict[int, list[int]] = {}
    if region_keys:
        codes = {code for _role, code in region_keys}
        for role, code, user_id in Assignment.objects.filter(
            is_active=True, user__is_active=True, region__code__in=codes
        ).values_list("role", "region__code", "user_id"):
            by_region.setdefault((role, code), []).append(user_id)
    if companies:
        for company_id, user_id in Assignment.objects.filter(
            is_active=True,
            user__is_active=True,
            role=Role.PROPERTY_STAFF,
            property_company_id__in=companies,
        ).values_list("property_company_id", "user_id"):
            by_company.setdefault(company_id, []).append(user_id)
    result = {}
    for row in rows:
        if row["handler_id"] is not None:
            ids = [row["handler_id"]]
        elif row["handler_type"] == HandlerType.PROPERTY:
            ids = list(by_company.get(row["handler_company_id"], []))
        else:
            ids = list(
                by_region.get((HANDLER_ROLE[row["handler_type"]], row["handler_unit_code"]), [])
            )
        if with_dispatchers:
            ids += by_region.get((Role.COMMUNITY_STAFF, row["region_code"][:12]), [])
        result[row["id"]] = ids
    return result


LEVEL_LENGTH = {"grid": 15, "community": 12, "township": 9, "city": 6}


def _level_recipients(messages: list[dict]) -> dict[tuple[str, int], list[int]]:
    """(level, case id) → the people of that ladder level responsible for the case's place."""
    codes: set[str] = set()
    companies: set[int] = set()
    for m in messages:
        case = m["case"]
        if m["level"] == "property":
            companies.add(case.handler_company_id)
        else:
            codes.add(case.region_code[: LEVEL_LENGTH[m["level"]]])
    by_region: dict[tuple[str, str], list[int]] = {}
    for role, code, user_id in Assignment.objects.filter(
        is_active=True, user__is_active=True, region__code__in=codes
    ).values_list("role", "region__code", "user_id"):
        by_region.setdefault((role, code), []).append(user_id)
    by_company: dict[int, list[int]] = {}
    for company_id, user_id in Assignment.objects.filter(
        is_active=True,
        user__is_active=True,
        role=Role.PROPERTY_STAFF,
        property_company_id__in=companies,
    ).values_list("property_company_id", "user_id"):
        by_company.setdefault(company_id, []).append(user_id)
    result = {}
    for m in messages:
        case, level = m["case"], m["level"]
        if level == "property":
            ids = by_company.get(case.handler_company_id, [])
        else:
            ids = by_region.get((LEVEL_ROLE[level], case.region_code[: LEVEL_LENGTH[level]]), [])
        result[(level, case.pk)] = ids
    return result


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _mark(ids: list[int], old: list[str], new: str, extra: dict) -> list[dict]:
    """Compare-and-set the colour; returns the rows this sweep actually changed."""
    changed: list[dict] = []
    for chunk in _chunks(ids):
        with transaction.atomic():
            # Rows another sweep is changing right now are skipped (PostgreSQL); SQLite
            # serialises write transactions, so there the filter on the old colour suffices.
            rows = list(
                Case.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=chunk, sla_level__in=old)
                .values(*FIELDS)
            )
            if not rows:
                continue
            Case.objects.filter(pk__in=[r["id"] for r in rows], sla_level__in=old).update(
                sla_level=new, **extra
            )
            changed += rows
    return changed


def sla_sweep(*, now=None) -> SweepResult:
    """One pass of the SLA sweep at `now` (default: the current time)."""
    started = time.perf_counter()
    now = now or timezone.now()
    result = SweepResult()

    # Yellow: 80 % used, not yet overdue.
    yellow_ids = list(
        Case.objects.filter(
            sla_level=SlaLevel.GREEN,
            step_warn_at__isnull=False,
            step_warn_at__lte=now,
            step_due_at__gt=now,
        )
        .order_by()
        .values_list("id", flat=True)
    )
    yellow = _mark(yellow_ids, [SlaLevel.GREEN], SlaLevel.YELLOW, {})
    result.yellow = len(yellow)
    if yellow:
        recipients = _recipients(yellow, with_dispatchers=False)
        result.notifications += notify_bulk(
            [
                {
                    "recipients": recipients[row["id"]],
                    "kind": "case_due_soon",
                    "title": _("案件即将超期：%(title)s")
                    % {"title": f"{row['code']} {row['category__name']}"},
                    "url": reverse("case-detail", args=[row["id"]]),
                    "object_type": "cases.case",
                    "object_id": row["id"],
                }
                for row in yellow
            ]
        )

    # Red: overdue → supervised (督办), a timeline row, handler and community told.
    red_ids = list(
        Case.objects.filter(
            sla_level__in=[SlaLevel.GREEN, SlaLevel.YELLOW],
            step_due_at__isnull=False,
            step_due_at__lte=now,
        )
        .order_by()
        .values_list("id", flat=True)
    )
    red = _mark(red_ids, [SlaLevel.GREEN, SlaLevel.YELLOW], SlaLevel.RED, {"supervised": True})
    result.red = len(red)
    if red:
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(
                    case_id=row["id"],
                    at=now,
                    action="sla_red",
                    from_status=row["status"],
                    to_status=row["status"],
                    actor=None,
                    actor_name="系统",
                    actor_role="system",
                    note=_("已超过办理时限，自动督办"),
                    public=False,
                )
                for row in red
            ],
            batch_size=CHUNK,
        )
        recipients = _recipients(red, with_dispatchers=True)
        result.notifications += notify_bulk(
            [
                {
                    "recipients": recipients[row["id"]],
                    "kind": "case_overdue",
                    "title": _("案件已超期（督办）：%(title)s")
                    % {"title": f"{row['code']} {row['category__name']}"},
                    "url": reverse("case-detail", args=[row["id"]]),
                    "object_type": "cases.case",
                    "object_id": row["id"],
                }
                for row in red
            ],
            channels=("sms",),
        )

    # Escalation: overdue by the grace → one rung up (the rule of case_escalate, in bulk).
    escalated, messages = cases_escalate_due(now=now)
    result.escalated = escalated
    if messages:
        level_recipients = _level_recipients(messages)
        result.notifications += notify_bulk(
            [
                {
                    "recipients": level_recipients[(m["level"], m["case"].pk)],
                    "kind": "case_escalated",
                    "title": m["title"],
                    "url": reverse("case-detail", args=[m["case"].pk]),
                    "object_type": "cases.case",
                    "object_id": m["case"].pk,
                }
                for m in messages
            ],
            channels=("sms",),
        )
    result.seconds = time.perf_counter() - started
    if result.yellow or result.red or result.escalated:
        logger.info("sla sweep: %s", result.as_dict())
    return result


def overdue_q(now=None) -> Q:
    """Open cases whose running step is overdue (for lists and indicators)."""
    now = now or timezone.now()
    return Q(step_due_at__isnull=False, step_due_at__lte=now)
