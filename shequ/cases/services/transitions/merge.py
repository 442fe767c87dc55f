"""合并重复: a duplicate case merges into an open one; its reporter follows the survivor.
Used through `shequ.cases.services` (pages, API).
"""

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases import access
from shequ.cases.models import Case, CaseFollow
from shequ.cases.services._common import (
    apply_transition,
    case_title,
    case_url,
    check_transition,
    field_errors,
    no_clock,
    resident_channels,
)
from shequ.cases.workflow import (
    Action,
    Status,
)
from shequ.core.actors import User
from shequ.core.errors import ConflictError
from shequ.notifications.services import notify


def case_merge(
    *,
    case: Case,
    actor: User,
    into: Case | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """合并重复: the case duplicates an open one; its reporter follows the surviving case."""
    check_transition(actor, case, Action.MERGE)
    if into is None:
        raise field_errors([{"field": "into", "message": _("请指定合并目标案件。")}])
    access.check_role(actor, into, Action.MERGE)
    if into.pk == case.pk:
        raise field_errors([{"field": "into", "message": _("不能与自身合并。")}])
    if into.status not in {
        Status.REPORTED,
        Status.REGISTERED,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.HANDLED,
    }:
        raise ConflictError(_("目标案件已办结或已关闭，不能合并。"), code="target_not_open")
    now = now or timezone.now()

    def after(c: Case) -> None:
        notify(
            recipients=[c.reporter_id],
            kind="case_merged",
            title=_("您反映的问题已与相同问题合并办理：%(title)s") % {"title": case_title(into)},
            body=_(
                "您反映的 %(code)s 与已在办理的 %(into)s 是同一问题，已合并办理；"
                "办理进展和结果会通知您，届时请评价。"
            )
            % {"code": c.code, "into": into.code},
            url=case_url(into),
            obj=into,
            channels=resident_channels(),
        )

    with transaction.atomic():
        merged = apply_transition(
            case,
            Action.MERGE,
            actor,
            changes={"merged_into": into, **no_clock()},
            now=now,
            note=note,
            data={"into": into.pk, "into_code": into.code},
            after_commit=after,
        )
        if case.reporter_id and case.reporter_id != into.reporter_id:
            _follow, created = CaseFollow.objects.get_or_create(case=into, user_id=case.reporter_id)
            if created:
                Case.objects.filter(pk=into.pk).update(follower_count=F("follower_count") + 1)
    return merged
