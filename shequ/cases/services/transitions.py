"""One service per transition of the closed loop (立案 → 派遣 → 处置 → 核查 → 结案 and the side
roads). Each checks who may act, then `apply_transition` compare-and-sets the status from the
table in `workflow.py` and appends the timeline row; side effects run after commit.

`actor=None` means the system (automatic dispatch, the SLA sweep); pages, the API, Open311 and
commands always pass the acting user.
"""

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases import access, evidence
from shequ.cases.models import Case
from shequ.cases.services._common import (
    SYSTEM_NAME,
    after_photo_url,
    apply_transition,
    case_title,
    case_url,
    check_allowed,
    clock_for,
    closure_summary,
    dispatcher_ids,
    field_errors,
    ladder_position,
    level_user_ids,
    no_clock,
    require_text,
    resident_channels,
    tell,
    tell_reporter_and_followers,
    unit_user_ids,
)
from shequ.cases.workflow import (
    REOPEN_DAYS,
    UNIT_CODE_LENGTH,
    Action,
    HandlerType,
    PhotoKind,
    Priority,
    SlaLevel,
    Status,
    Step,
)
from shequ.core.calendar import get_calendar
from shequ.core.errors import ConflictError


def _check(actor, case: Case, action: str, *, system_allowed: bool = False) -> None:
    """The role (403), the status table (409), then the rules about this case (403)."""
    if actor is None:
        if not system_allowed:
            access.deny(_("需要登录。"), "unauthenticated")
        check_allowed(case, action)
        return
    access.check_role(actor, case, action)
    check_allowed(case, action)
    access.check_rules(actor, case, action)


def case_register(
    *, case: Case, actor, note: str = "", category=None, priority: str | None = None, now=None
) -> Case:
    """立案: accept the report as a case (optionally correcting its category and priority)."""
    _check(actor, case, Action.REGISTER, system_allowed=True)
    now = now or timezone.now()
    changes: dict = {"registered_at": now}
    data: dict = {}
    if category is not None:
        from shequ.cases import routing
        from shequ.cases.services.report import resolve_category

        new_category = resolve_category(category)
        if new_category is None:
            raise field_errors([{"field": "category", "message": _("未知的问题类别。")}])
        if new_category.pk != case.category_id:
            place = routing.Place(
                grid_code=case.region_code, lat=case.lat, lng=case.lng, building=case.building
            )
            route = routing.route(new_category.handler_type, place)
            changes.update(
                category=new_category,
                handler_type=route.handler_type,
                handler_unit_code=route.handler_unit_code,
                handler_company_id=route.handler_company_id,
                priority=new_category.priority,
            )
            data["category"] = [case.category.code, new_category.code]
            case.category = new_category
            case.handler_type = route.handler_type
    if priority:
        if priority not in Priority.values:
            raise field_errors([{"field": "priority", "message": _("紧急程度无效。")}])
        changes["priority"] = priority
    changes.update(clock_for(case, Step.DISPATCH, now))
    return apply_transition(
        case, Action.REGISTER, actor, changes=changes, now=now, note=note, data=data
    )


def case_void(*, case: Case, actor, reason: str = "", now=None) -> Case:
    """作废: the report is not a case (no problem, out of scope, a test…) — with a reason."""
    _check(actor, case, Action.VOID, system_allowed=True)
    reason = require_text(reason, "reason", _("作废须填写理由。"), 500)
    now = now or timezone.now()

    def after(c):
        tell_reporter_and_followers(
            c,
            "case_voided",
            _("您反映的问题未予立案：%(title)s") % {"title": case_title(c)},
            _("未立案的原因：%(reason)s。如有疑问，可重新上报或联系社区。") % {"reason": reason},
        )

    return apply_transition(
        case,
        Action.VOID,
        actor,
        changes={"voided_at": now, "void_reason": reason, **no_clock()},
        now=now,
        note=reason,
        after_commit=after,
    )


def _route_for_dispatch(case: Case, handler_type, handler_unit_code, handler_company) -> dict:
    if handler_type in (None, ""):
        from shequ.cases import routing

        place = routing.Place(
            grid_code=case.region_code, lat=case.lat, lng=case.lng, building=case.building
        )
        route = routing.route(case.category.handler_type, place)
        return {
            "handler_type": route.handler_type,
            "handler_unit_code": route.handler_unit_code,
            "handler_company_id": route.handler_company_id,
        }
    if handler_type not in HandlerType.values:
        raise field_errors([{"field": "handler_type", "message": _("处置主体无效。")}])
    if handler_type == HandlerType.PROPERTY:
        company_id = getattr(handler_company, "pk", handler_company)
        if not company_id:
            raise field_errors([{"field": "handler_company", "message": _("请选择物业公司。")}])
        from shequ.property.models import PropertyCompany

        if not PropertyCompany.objects.filter(pk=company_id).exists():
            raise field_errors([{"field": "handler_company", "message": _("未找到该物业公司。")}])
        return {
            "handler_type": handler_type,
            "handler_unit_code": "",
            "handler_company_id": int(company_id),
        }
    unit = case.region_code[: UNIT_CODE_LENGTH[HandlerType(handler_type)]]
    if handler_unit_code and handler_unit_code != unit:
        raise field_errors(
            [{"field": "handler_unit_code", "message": _("处置单位必须是案件所在的区域。")}]
        )
    return {"handler_type": handler_type, "handler_unit_code": unit, "handler_company_id": None}


def case_dispatch(
    *,
    case: Case,
    actor,
    handler_type: str | None = None,
    handler_unit_code: str | None = None,
    handler_company=None,
    note: str = "",
    now=None,
) -> Case:
    """派遣: send the case to the handling unit. The first dispatch starts the handling clock
    (due by the category's limit on the working calendar); a re-dispatch (改派) keeps it."""
    _check(actor, case, Action.DISPATCH, system_allowed=True)
    now = now or timezone.now()
    changes = _route_for_dispatch(case, handler_type, handler_unit_code, handler_company)
    changes["handler"] = None
    changes["accepted_at"] = None
    first = case.status == Status.REGISTERED
    probe = Case(
        category=case.category,
        handler_type=changes["handler_type"],
        escalation_level=case.escalation_level,
        region_code=case.region_code,
    )
    if first:
        changes["dispatched_at"] = now
        changes.update(clock_for(probe, Step.HANDLE, now))
        changes["due_at"] = changes["step_due_at"]
    else:
        changes.update(clock_for(probe, Step.HANDLE, case.dispatched_at, due=case.due_at))
    data = {
        "handler_type": changes["handler_type"],
        "handler_unit_code": changes["handler_unit_code"],
        "handler_company": changes["handler_company_id"],
        "due_at": changes["due_at"].isoformat() if first else case.due_at.isoformat(),
    }

    def after(c):
        urgent = c.priority != Priority.NORMAL
        tell(
            unit_user_ids(c),
            "case_dispatched",
            _("新案件待接单：%(title)s") % {"title": case_title(c)},
            c,
            body=_("请在 %(due)s 前处置反馈。")
            % {"due": timezone.localtime(c.due_at).strftime("%Y-%m-%d %H:%M")},
            sms=urgent,
        )

    return apply_transition(
        case,
        Action.DISPATCH,
        actor,
        changes=changes,
        now=now,
        note=note,
        data=data,
        after_commit=after,
    )


def case_accept(*, case: Case, actor, now=None) -> Case:
    """接单: someone of the handling unit takes the case. Two at once: one wins, one gets 409."""
    _check(actor, case, Action.ACCEPT)
    now = now or timezone.now()
    return apply_transition(
        case, Action.ACCEPT, actor, changes={"handler": actor, "accepted_at": now}, now=now
    )


def case_handle(*, case: Case, actor, note: str = "", photos=(), now=None) -> Case:
    """处理反馈: the handler records what was done, with an "after" photo (required when the
    category requires photos). Stops the handling clock; starts the verification clock."""
    _check(actor, case, Action.HANDLE)
    note = require_text(note, "note", _("请填写处置情况。"))
    checked = evidence.check_photos(photos)
    if case.category.photo_required and not checked:
        message = _("请上传处置后的现场照片。")
        raise field_errors([{"field": "photos", "message": message}], message)
    now = now or timezone.now()
    seconds = get_calendar().working_seconds_between(case.dispatched_at, now)
    changes = {
        "handled_at": now,
        "handling_seconds": max(0, seconds),
        "extension_requested": None,
        "extension_reason": "",
        **clock_for(case, Step.VERIFY, now),
    }

    def after(c):
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


def case_verify(*, case: Case, actor, note: str = "", photos=(), now=None) -> Case:
    """核查结案: someone other than the handler checks on site and closes the case."""
    _check(actor, case, Action.VERIFY)
    checked = evidence.check_photos(photos)
    now = now or timezone.now()

    def after(c):
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


def case_rework(*, case: Case, actor, note: str = "", now=None) -> Case:
    """返工: the check failed; back to the handler, deadline unchanged."""
    _check(actor, case, Action.REWORK)
    note = require_text(note, "note", _("返工须说明原因。"))
    now = now or timezone.now()
    from django.db.models import F

    changes = {
        "rework_count": F("rework_count") + 1,
        **clock_for(case, Step.HANDLE, case.dispatched_at, due=case.due_at),
    }

    def after(c):
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


def case_request_extension(*, case: Case, actor, amount=None, reason: str = "", now=None) -> Case:
    """申请延期: the handling party asks for more time (in the category's handling unit)."""
    _check(actor, case, Action.EXTEND)
    reason = require_text(reason, "reason", _("申请延期须说明理由。"), 500)
    limit = case.category.handle_limit
    try:
        amount = int(amount)
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

    def after(c):
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
    *, case: Case, actor, approved: bool = True, amount=None, note: str = "", now=None
) -> Case:
    """审批延期: approve (the due time moves by the amount, on the working calendar) or refuse."""
    _check(actor, case, Action.APPROVE_EXTENSION)
    if case.extension_requested is None:
        raise ConflictError(_("没有待审批的延期申请。"), code="no_extension_pending")
    now = now or timezone.now()
    requested = case.extension_requested
    changes: dict = {"extension_requested": None, "extension_reason": ""}
    data: dict = {"approved": bool(approved), "requested": requested}
    if approved:
        try:
            granted = int(amount) if amount not in (None, "") else requested
        except (TypeError, ValueError):
            granted = 0
        if not 1 <= granted <= requested:
            message = _("批准的延期时长应为 1–%(max)d。") % {"max": requested}
            raise field_errors([{"field": "amount", "message": message}], message)
        new_due = get_calendar().add(case.due_at, granted, case.category.handle_unit)
        from django.db.models import F

        changes.update(
            due_at=new_due,
            extension_count=F("extension_count") + 1,
            **clock_for(case, Step.HANDLE, case.dispatched_at, due=new_due),
        )
        data.update(granted=granted, old_due=case.due_at.isoformat(), new_due=new_due.isoformat())

    def after(c):
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


def case_return(*, case: Case, actor, reason: str = "", now=None) -> Case:
    """退回: "not ours" — back to the dispatcher for re-dispatch (the old clock stops)."""
    _check(actor, case, Action.RETURN)
    reason = require_text(reason, "reason", _("退回须说明理由。"), 500)
    now = now or timezone.now()
    changes = {
        "handler": None,
        "accepted_at": None,
        "dispatched_at": None,
        "due_at": None,
        "extension_requested": None,
        "extension_reason": "",
        **clock_for(case, Step.DISPATCH, now),
    }

    def after(c):
        tell(
            dispatcher_ids(c),
            "case_returned",
            _("案件被退回，请重新派遣：%(title)s") % {"title": case_title(c)},
            c,
            body=reason,
        )
        tell_reporter_and_followers(
            c,
            "case_returned_reporter",
            _("您反映的问题正在重新分派：%(title)s") % {"title": case_title(c)},
            _("原承办单位认为不属于其职责，社区将重新指派承办单位，处理期限重新计算。"),
        )

    return apply_transition(
        case,
        Action.RETURN,
        actor,
        changes=changes,
        now=now,
        note=reason,
        data={"returned_by_unit": case.handler_unit_code or case.handler_company_id},
        after_commit=after,
    )


def case_reopen(*, case: Case, actor, reason: str = "", now=None) -> Case:
    """重新办理: the reporter says it is not fixed, within 7 days of closure, once. Counts as
    rework; back to the same unit with a fresh handling clock."""
    _check(actor, case, Action.REOPEN)
    reason = require_text(reason, "reason", _("请说明问题为何仍未解决。"), 500)
    now = now or timezone.now()
    if case.reopen_count >= 1:
        raise ConflictError(_("每个案件只能申请重新办理一次。"), code="reopen_used")
    if case.closed_at is None or now - case.closed_at > dt.timedelta(days=REOPEN_DAYS):
        raise ConflictError(
            _("结案已超过 %(n)d 天，不能再申请重新办理，请重新上报。") % {"n": REOPEN_DAYS},
            code="reopen_expired",
        )
    from django.db.models import F

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

    def after(c):
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


def case_merge(*, case: Case, actor, into: Case | None = None, note: str = "", now=None) -> Case:
    """合并重复: the case duplicates an open one; its reporter follows the surviving case."""
    from django.db.models import F

    from shequ.cases.models import CaseFollow

    _check(actor, case, Action.MERGE)
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

    def after(c):
        from shequ.notifications.services import notify

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


def case_supervise(*, case: Case, actor, note: str = "", now=None) -> Case:
    """督办: flag the case for supervision (also automatic when it runs late)."""
    _check(actor, case, Action.SUPERVISE)
    if case.supervised:
        raise ConflictError(_("该案件已在督办中。"), code="already_supervised")

    def after(c):
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


def _escalation(case: Case, now) -> tuple[str, dict] | None:
    """The escalation rule: the next rung of the category's ladder and the changes it makes
    (supervised; the next escalation one grace later while a higher rung exists), or None at
    the top. Shared by case_escalate and the sweep's bulk path."""
    position, length = ladder_position(case)
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


def case_escalate(*, case: Case, actor=None, note: str = "", now=None) -> Case:
    """升级: one rung up the category's ladder (grid → community → township → city). The new
    level is told and the case is supervised. Staff with dispatch rights may do it by hand; the
    SLA sweep escalates overdue cases in bulk with the same rule (`cases_escalate_due`)."""
    _check(actor, case, Action.ESCALATE, system_allowed=True)
    now = now or timezone.now()
    step = _escalation(case, now)
    if step is None:
        raise ConflictError(_("已升级至最高层级。"), code="ladder_top")
    level, changes = step

    def after(c):
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


def cases_escalate_due(*, now=None, chunk: int = 500) -> tuple[int, list[dict]]:
    """Escalate every case whose escalation time has come, by the rule of `case_escalate`, in
    bulk: per chunk one locking read, one UPDATE and one insert of timeline rows (rows another
    sweep holds are skipped). Returns (escalated, notification messages for the new levels)."""
    from django.db.models import Case as When_
    from django.db.models import DateTimeField, Value, When
    from django.db.models.functions import Cast

    from shequ.cases.models import CaseEvent

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
            tops, steps = [], []
            for case in cases:
                step = _escalation(case, now)
                (tops if step is None else steps).append((case, step))
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
    return SlaLevel(level).label
