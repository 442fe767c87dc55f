"""After closure: the reporter's rating, and staff 回访 (return visits) for phone cases; and notes
from outside systems on a case's timeline (Open311 servicerequestupdates)."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases import access
from shequ.cases.models import Case, CaseEvent, CaseRating
from shequ.cases.services._common import (
    apply_transition,
    case_title,
    case_url,
    check_allowed,
    field_errors,
    resident_channels,
)
from shequ.cases.services.transitions import case_reopen
from shequ.cases.workflow import Action, RatingSource, Satisfaction, Status
from shequ.core.actors import User
from shequ.core.errors import ConflictError
from shequ.notifications.models import Notification
from shequ.notifications.services import notify_bulk


def _rating(value: str) -> str:
    if value not in Satisfaction.values:
        message = _("请选择满意、基本满意或不满意。")
        raise field_errors([{"field": "rating", "message": message}], message)
    return value


def case_rate(
    *,
    case: Case,
    actor: User,
    rating: str = "",
    comment: str = "",
    reopen: bool = False,
    now: dt.datetime | None = None,
) -> Case:
    """评价: the reporter rates the closed case once per round; 不满意 may reopen it (once,
    within 7 days)."""
    access.check_role(actor, case, Action.RATE)
    check_allowed(case, Action.RATE)
    access.check_rules(actor, case, Action.RATE)
    rating = _rating(rating)
    comment = (comment or "").strip()[:500]
    if reopen and rating != Satisfaction.UNSATISFIED:
        message = _("只有选择“不满意”时才能申请重新办理。")
        raise field_errors([{"field": "reopen", "message": message}], message)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            CaseRating.objects.create(
                case=case,
                round=case.reopen_count,
                source=RatingSource.RESIDENT,
                rating=rating,
                comment=comment,
                by=actor,
                at=now,
            )
            case = apply_transition(
                case,
                Action.RATE,
                actor,
                changes={"satisfaction": rating},
                now=now,
                note=comment,
                data={"rating": rating},
            )
    except IntegrityError:
        raise ConflictError(_("您已评价过该案件。"), code="already_rated") from None
    if reopen:
        case = case_reopen(case=case, actor=actor, reason=comment or _("居民评价不满意"))
    return case


def case_visit(
    *,
    case: Case,
    actor: User,
    rating: str = "",
    contacted: bool = True,
    resolved: bool = True,
    note: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """回访: staff record the result of calling back the reporter (phone/hotline cases)."""
    access.check_role(actor, case, Action.VISIT)
    check_allowed(case, Action.VISIT)
    rating = _rating(rating)
    now = now or timezone.now()
    resident_rated = CaseRating.objects.filter(
        case=case, round=case.reopen_count, source=RatingSource.RESIDENT
    ).exists()
    changes = {"satisfaction": rating} if contacted and not resident_rated else {}
    try:
        with transaction.atomic():
            CaseRating.objects.create(
                case=case,
                round=case.reopen_count,
                source=RatingSource.VISIT,
                rating=rating,
                comment=(note or "").strip()[:500],
                contacted=bool(contacted),
                resolved=bool(resolved),
                by=actor,
                at=now,
            )
            case = apply_transition(
                case,
                Action.VISIT,
                actor,
                changes=changes,
                now=now,
                note=note,
                public=False,
                data={"rating": rating, "contacted": bool(contacted), "resolved": bool(resolved)},
            )
    except IntegrityError:
        raise ConflictError(_("本轮办理已登记过回访。"), code="already_visited") from None
    return case


RATING_REMINDER_AFTER = dt.timedelta(days=3)
# Closures older than this are not looked at again (a bounded scan; the reminder went out long
# ago or the resident was never going to rate).
RATING_REMINDER_HORIZON = dt.timedelta(days=30)
RATING_REMINDER_KIND = "case_rating_reminder"


def cases_remind_unrated(*, now: dt.datetime | None = None, chunk: int = 500) -> int:
    """提醒评价: one reminder to the reporter of a case closed 3 days ago and still unrated
    (this round); idempotent, so the hourly job may run any number of times. Returns how many
    reminders were sent."""
    now = now or timezone.now()
    rated = CaseRating.objects.filter(
        case=OuterRef("pk"), round=OuterRef("reopen_count"), source=RatingSource.RESIDENT
    )
    candidates = list(
        Case.objects.filter(
            status=Status.CLOSED,
            reporter__isnull=False,
            closed_at__lte=now - RATING_REMINDER_AFTER,
            closed_at__gte=now - RATING_REMINDER_HORIZON,
        )
        .exclude(Exists(rated))
        .select_related("category")
        .order_by("closed_at", "id")[: chunk * 20]
    )
    if not candidates:
        return 0
    reminded = set(
        Notification.objects.filter(
            kind=RATING_REMINDER_KIND,
            object_type="cases.case",
            object_id__in=[str(c.pk) for c in candidates],
        ).values_list("object_id", flat=True)
    )
    messages = [
        {
            "recipients": [case.reporter_id],
            "kind": RATING_REMINDER_KIND,
            "title": _("请为已办结的问题评价：%(title)s") % {"title": case_title(case)},
            "body": _(
                "您反映的问题已于 %(date)s 办结，还没有收到您的评价。请选择满意、基本满意或"
                "不满意；如问题仍未解决，可选择“不满意”并申请重新办理。"
            )
            % {"date": timezone.localtime(case.closed_at).strftime("%Y-%m-%d")},
            "url": case_url(case),
            "object_type": "cases.case",
            "object_id": case.pk,
        }
        for case in candidates
        if str(case.pk) not in reminded
    ]
    if not messages:
        return 0
    return notify_bulk(messages, channels=resident_channels())


def case_note_add(
    *,
    case: Case,
    action: str,
    actor_name: str,
    actor_role: str,
    note: str,
    data: dict | None = None,
    public: bool = True,
) -> CaseEvent:
    """A note from an outside system (an Open311 client's servicerequestupdate) on the case's
    timeline. It never changes the case's status — only the transitions do; the caller checks
    the client's right and validates the text. The case row is locked so the note's
    from/to status is the status it was written against."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    return CaseEvent.objects.create(
        case=locked,
        at=timezone.now(),
        action=action,
        from_status=locked.status,
        to_status=locked.status,
        actor=None,
        actor_name=actor_name,
        actor_role=actor_role,
        note=note,
        public=public,
        data=data or {},
    )
