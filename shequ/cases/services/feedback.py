"""After closure: the reporter's rating, and staff 回访 (return visits) for phone cases."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases import access
from shequ.cases.models import Case, CaseRating
from shequ.cases.services._common import apply_transition, check_allowed, field_errors
from shequ.cases.workflow import Action, RatingSource, Satisfaction
from shequ.core.errors import ConflictError


def _rating(value) -> str:
    if value not in Satisfaction.values:
        message = _("请选择满意、基本满意或不满意。")
        raise field_errors([{"field": "rating", "message": message}], message)
    return value


def case_rate(
    *, case: Case, actor, rating: str = "", comment: str = "", reopen: bool = False, now=None
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
        from shequ.cases.services.transitions import case_reopen

        case = case_reopen(case=case, actor=actor, reason=comment or _("居民评价不满意"))
    return case


def case_visit(
    *,
    case: Case,
    actor,
    rating: str = "",
    contacted: bool = True,
    resolved: bool = True,
    note: str = "",
    now=None,
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
