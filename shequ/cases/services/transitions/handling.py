"""处理反馈, 核查结案, 返工, 延期 (request and approval), 重新办理: the handling unit's work and
its check. Used through `shequ.cases.services` (pages, API, Open311) and by `case_rate`.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases import evidence
from shequ.cases.models import Case
from shequ.cases.services._common import (
    after_photo_url,
    apply_transition,
    case_title,
    check_transition,
    clock_for,
    closure_summary,
    dispatcher_ids,
    field_errors,
    no_clock,
    require_text,
    tell,
    tell_reporter_and_followers,
    unit_user_ids,
)
from shequ.cases.workflow import (
    REOPEN_DAYS,
    Action,
    PhotoKind,
    Step,
)
from shequ.core.actors import User
from shequ.core.calendar import get_calendar
from shequ.core.errors import ConflictError


def case_handle(
    *,
    case: Case,
    actor: User,
    note: str = "",
    photos: Iterable[evidence.Upload] = (),
    now: dt.datetime | None = None,
) -> Case:
    """处理反馈: the handler records what was done, with an "after" photo (required when the
    category requires photos). Stops the handling clock; starts the verification clock."""
    check_transition(actor, case, Action.HANDLE)
    note = require_text(note, "note", _("请填写处置情况。"))
    checked = evidence.check_photos(photos)
    if case.category.photo_required and not checked:
        message = _("请上传处置后的现场照片。")
        raise field_errors([{"field": "photos", "message": message}], message)
    now = now or timezone.now()
    assert case.dispatched_at is not None  # handling follows a dispatch
    seconds = get_calendar().working_seconds_between(case.dispatched_at, now)
    changes = {
        "handled_at": now,
        "handling_seconds": max(0, seconds),
        "extension_requested": None,
        "extension_reason": "",
        **clock_for(case, Step.VERIFY, now),
    }

    def after(c: Case) -> None:
        ids = [i for i in dispatcher_ids(c) if i != c.handler_id]
        tell(ids, "case_handled", _("案件待核查：%(title)s") % {"title": case_title(c)}, c)
        tell_reporter_and_followers(
            c,
            "case_progress",
            _("您反映的问题已处理，等待核查：%(title)s") % {"title": case_title(c)},
            body=note,
        )

    return apply_transition(
        case,
        Action.HANDLE,
        actor,
        changes=changes,
        now=now,
        note=note,
        photos=checked,
        photo_kind=PhotoKind.HANDLE,
        after_commit=after,
    )


def case_verify(
    *,
    case: Case,
    actor: User,
    note: str = "",
    photos: Iterable[evidence.Upload] = (),
    now: dt.datetime | None = None,
) -> Case:
    """核查结案: someone other than the handler checks on site and closes the case."""
    check_transition(actor, case, Action.VERIFY)
    checked = evidence.check_photos(photos)
    now = now or timezone.now()

    def after(c: Case) -> None:
        tell_reporter_and_followers(
            c,
            "case_closed",
            _("您反映的问题已办结，请评价：%(title)s") % {"title": case_title(c)},
            closure_summary(c),
            image_url=after_photo_url(c),
        )

    return apply_transition(
        case,
        Action.VERIFY,
        actor,
        changes={"closed_at": now, **no_clock()},
        now=now,
        note=note,
        photos=checked,
        photo_kind=PhotoKind.VERIFY,
        after_commit=after,
    )


def case_rework(*, case: Case, actor: User, note: str = "", now: dt.datetime | None = None) -> Case:
    """返工: the check failed; back to the handler, deadline unchanged."""
    check_transition(actor, case, Action.REWORK)
    note = require_text(note, "note", _("返工须说明原因。"))
    now = now or timezone.now()
    assert case.dispatched_at is not None  # the case was dispatched and handled
    changes = {
        "rework_count": F("rework_count") + 1,
        **clock_for(case, Step.HANDLE, case.dispatched_at, due=case.due_at),
    }

    def after(c: Case) -> None:
        tell(
            [c.handler_id],
            "case_rework",
            _("案件需返工：%(title)s") % {"title": case_title(c)},
            c,
            body=note,
            sms=True,
        )

    return apply_transition(
        case, Action.REWORK, actor, changes=changes, now=now, note=note, after_commit=after
    )


def case_request_extension(
    *,
    case: Case,
    actor: User,
    amount: int | str | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """申请延期: the handling party asks for more time (in the category's handling unit)."""
    check_transition(actor, case, Action.EXTEND)
    reason = require_text(reason, "reason", _("申请延期须说明理由。"), 500)
    limit = case.category.handle_limit
    try:
        amount = int(amount) if amount is not None else 0
    except (TypeError, ValueError):
        amount = 0
    maximum = max(limit, 1) * 3
    if not 1 <= amount <= maximum:
        message = _("延期时长应为 1–%(max)d %(unit)s。") % {
            "max": maximum,
            "unit": case.category.get_handle_unit_display(),
        }
        raise field_errors([{"field": "amount", "message": message}], message)
    if case.extension_requested is not None:
        raise ConflictError(_("已有待审批的延期申请。"), code="extension_pending")
    now = now or timezone.now()

    def after(c: Case) -> None:
        tell(
            dispatcher_ids(c),
            "case_extension",
            _("延期申请待审批：%(title)s") % {"title": case_title(c)},
            c,
            body=reason,
        )

    return apply_transition(
        case,
        Action.EXTEND,
        actor,
        changes={"extension_requested": amount, "extension_reason": reason},
        cas={"extension_requested__isnull": True},
        now=now,
        note=reason,
        data={"amount": amount, "unit": case.category.handle_unit},
        after_commit=after,
    )


def case_approve_extension(
    *,
    case: Case,
    actor: User,
    approved: bool = True,
    amount: int | str | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """审批延期: approve (the due time moves by the amount, on the working calendar) or refuse."""
    check_transition(actor, case, Action.APPROVE_EXTENSION)
    if case.extension_requested is None:
        raise ConflictError(_("没有待审批的延期申请。"), code="no_extension_pending")
    now = now or timezone.now()
    requested = case.extension_requested
    changes: dict[str, Any] = {"extension_requested": None, "extension_reason": ""}
    data: dict[str, Any] = {"approved": bool(approved), "requested": requested}
    if approved:
        try:
            granted = int(amount) if amount not in (None, "") else requested
        except (TypeError, ValueError):
            granted = 0
        if not 1 <= granted <= requested:
            message = _("批准的延期时长应为 1–%(max)d。") % {"max": requested}
            raise field_errors([{"field": "amount", "message": message}], message)
        # An extension is asked for while handling: the case was dispatched, with a due time.
        assert case.due_at is not None and case.dispatched_at is not None
        new_due = get_calendar().add(case.due_at, granted, case.category.handle_unit)
        changes.update(
            due_at=new_due,
            extension_count=F("extension_count") + 1,
            **clock_for(case, Step.HANDLE, case.dispatched_at, due=new_due),
        )
        data.update(granted=granted, old_due=case.due_at.isoformat(), new_due=new_due.isoformat())

    def after(c: Case) -> None:
        title = (
            _("延期申请已批准：%(title)s") if approved else _("延期申请未获批准：%(title)s")
        ) % {"title": case_title(c)}
        tell(
            [c.handler_id] if c.handler_id else unit_user_ids(c),
            "case_extension",
            title,
            c,
            body=note,
        )

    return apply_transition(
        case,
        Action.APPROVE_EXTENSION,
        actor,
        changes=changes,
        cas={"extension_requested__isnull": False},
        now=now,
        note=note,
        data=data,
        after_commit=after,
        event_action=None if approved else "reject_extension",
    )


def case_reopen(
    *, case: Case, actor: User, reason: str = "", now: dt.datetime | None = None
) -> Case:
    """重新办理: the reporter says it is not fixed, within 7 days of closure, once. Counts as
    rework; back to the same unit with a fresh handling clock."""
    check_transition(actor, case, Action.REOPEN)
    reason = require_text(reason, "reason", _("请说明问题为何仍未解决。"), 500)
    now = now or timezone.now()
    if case.reopen_count >= 1:
        raise ConflictError(_("每个案件只能申请重新办理一次。"), code="reopen_used")
    if case.closed_at is None or now - case.closed_at > dt.timedelta(days=REOPEN_DAYS):
        raise ConflictError(
            _("结案已超过 %(n)d 天，不能再申请重新办理，请重新上报。") % {"n": REOPEN_DAYS},
            code="reopen_expired",
        )
    clock = clock_for(case, Step.HANDLE, now)
    changes = {
        "handler": None,
        "accepted_at": None,
        "handled_at": None,
        "closed_at": None,
        "dispatched_at": now,
        "due_at": clock["step_due_at"],
        "satisfaction": "",
        "rework_count": F("rework_count") + 1,
        "reopen_count": F("reopen_count") + 1,
        **clock,
    }

    def after(c: Case) -> None:
        tell(
            unit_user_ids(c) + dispatcher_ids(c),
            "case_reopened",
            _("居民申请重新办理：%(title)s") % {"title": case_title(c)},
            c,
            body=reason,
            sms=True,
        )

    return apply_transition(
        case,
        Action.REOPEN,
        actor,
        changes=changes,
        cas={"reopen_count": 0},
        now=now,
        note=reason,
        data={"due_at": clock["step_due_at"].isoformat()},
        after_commit=after,
    )
