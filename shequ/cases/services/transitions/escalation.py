"""督办 and 升级: supervision by hand, one rung up the category's escalation ladder by hand or
in bulk for the SLA sweep (`cases_escalate_due`, called by `shequ.cases.sla`), with one rule.
"""

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Case as When_
from django.db.models import DateTimeField, F, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases.models import Case, CaseEvent
from shequ.cases.services._common import (
    SYSTEM_NAME,
    apply_transition,
    case_title,
    check_transition,
    level_user_ids,
    tell,
    unit_user_ids,
)
from shequ.cases.workflow import (
    Action,
    SlaLevel,
)
from shequ.core.actors import User
from shequ.core.calendar import get_calendar
from shequ.core.errors import ConflictError


def case_supervise(
    *, case: Case, actor: User, note: str = "", now: dt.datetime | None = None
) -> Case:
    """督办: flag the case for supervision (also automatic when it runs late)."""
    check_transition(actor, case, Action.SUPERVISE)
    if case.supervised:
        raise ConflictError(_("该案件已在督办中。"), code="already_supervised")

    def after(c: Case) -> None:
        tell(
            [c.handler_id] if c.handler_id else unit_user_ids(c),
            "case_supervised",
            _("案件被督办：%(title)s") % {"title": case_title(c)},
            c,
            body=note,
            sms=True,
        )

    return apply_transition(
        case,
        Action.SUPERVISE,
        actor,
        changes={"supervised": True},
        cas={"supervised": False},
        now=now,
        note=note,
        after_commit=after,
    )


def _escalation(case: Case, now: dt.datetime) -> tuple[str, dict[str, Any]] | None:
    """The escalation rule: the next rung of the category's ladder and the changes it makes
    (supervised; the next escalation one grace later while a higher rung exists), or None at
    the top. Shared by case_escalate and the sweep's bulk path."""
    position, length = case.ladder_position()
    if position + 1 >= length:
        return None
    level = case.category.ladder[position + 1]
    next_escalation = None
    if position + 2 < length and case.step_due_at is not None:
        base = case.escalate_at or now  # steady rungs, whatever the sweep's lag
        next_escalation = get_calendar().add(
            base, case.category.escalation_grace, case.category.escalation_grace_unit
        )
    return level, {
        "escalation_level": case.escalation_level + 1,
        "escalate_at": next_escalation,
        "supervised": True,
    }


def case_escalate(
    *, case: Case, actor: User | None = None, note: str = "", now: dt.datetime | None = None
) -> Case:
    """升级: one rung up the category's ladder (grid → community → township → city). The new
    level is told and the case is supervised. Staff with dispatch rights may do it by hand; the
    SLA sweep escalates overdue cases in bulk with the same rule (`cases_escalate_due`)."""
    check_transition(actor, case, Action.ESCALATE, system_allowed=True)
    now = now or timezone.now()
    step = _escalation(case, now)
    if step is None:
        raise ConflictError(_("已升级至最高层级。"), code="ladder_top")
    level, changes = step

    def after(c: Case) -> None:
        tell(
            level_user_ids(level, c),
            "case_escalated",
            _("超期案件升级至本级：%(title)s") % {"title": case_title(c)},
            c,
            body=note,
            sms=True,
        )

    return apply_transition(
        case,
        Action.ESCALATE,
        actor,
        changes=changes,
        cas={"escalation_level": case.escalation_level},
        now=now,
        note=note or _("超期未处置，升级至上一级"),
        public=False,
        data={"level": level},
        after_commit=after,
    )


def cases_escalate_due(
    *, now: dt.datetime | None = None, chunk: int = 500
) -> tuple[int, list[dict]]:
    """Escalate every case whose escalation time has come, by the rule of `case_escalate`, in
    bulk: per chunk one locking read, one UPDATE and one insert of timeline rows (rows another
    sweep holds are skipped). Returns (escalated, notification messages for the new levels)."""
    now = now or timezone.now()
    ids = list(
        Case.objects.filter(escalate_at__isnull=False, escalate_at__lte=now)
        .order_by("escalate_at")
        .values_list("id", flat=True)
    )
    escalated = 0
    messages: list[dict] = []
    for start in range(0, len(ids), chunk):
        with transaction.atomic():
            cases = list(
                Case.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("category")
                .filter(pk__in=ids[start : start + chunk], escalate_at__lte=now)
            )
            tops: list[tuple[Case, None]] = []
            steps: list[tuple[Case, tuple[str, dict[str, Any]]]] = []
            for case in cases:
                step = _escalation(case, now)
                if step is None:
                    tops.append((case, step))
                else:
                    steps.append((case, step))
            if tops:
                Case.objects.filter(pk__in=[c.pk for c, _ in tops]).update(escalate_at=None)
            if not steps:
                continue
            Case.objects.filter(pk__in=[c.pk for c, _ in steps]).update(
                escalation_level=F("escalation_level") + 1,
                supervised=True,
                escalate_at=When_(
                    *[
                        When(pk=c.pk, then=Cast(Value(changes["escalate_at"]), DateTimeField()))
                        for c, (_l, changes) in steps
                    ],
                    default=Cast(Value(None), DateTimeField()),
                    output_field=DateTimeField(),
                ),
                version=F("version") + 1,
                updated_at=now,
            )
            CaseEvent.objects.bulk_create(
                [
                    CaseEvent(
                        case_id=case.pk,
                        at=now,
                        action=Action.ESCALATE,
                        from_status=case.status,
                        to_status=case.status,
                        actor=None,
                        actor_name=SYSTEM_NAME,
                        actor_role="system",
                        note=_("超期未处置，升级至上一级"),
                        public=False,
                        data={"level": level},
                    )
                    for case, (level, _changes) in steps
                ]
            )
            escalated += len(steps)
            messages += [
                {
                    "level": level,
                    "case": case,
                    "title": _("超期案件升级至本级：%(title)s") % {"title": case_title(case)},
                }
                for case, (level, _changes) in steps
            ]
    return escalated, messages


def sla_level_label(level: str) -> str:
    return str(SlaLevel(level).label)
