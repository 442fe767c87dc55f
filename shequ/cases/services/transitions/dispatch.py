"""立案, 作废, 派遣 (and 改派), 接单, 退回: getting a case to the unit that handles it.

Used through `shequ.cases.services` by the pages, the API, Open311 and `case_report`'s automatic
register + dispatch.
"""

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases import routing
from shequ.cases.categories import resolve_category
from shequ.cases.models import Case, Category
from shequ.cases.services._common import (
    apply_transition,
    case_title,
    check_transition,
    clock_for,
    dispatcher_ids,
    field_errors,
    no_clock,
    require_text,
    tell,
    tell_reporter_and_followers,
    unit_user_ids,
)
from shequ.cases.workflow import (
    UNIT_CODE_LENGTH,
    Action,
    HandlerType,
    Priority,
    Status,
    Step,
)
from shequ.core.actors import User
from shequ.property.models import PropertyCompany


def case_register(
    *,
    case: Case,
    actor: User | None,
    note: str = "",
    category: Category | str | None = None,
    priority: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """立案: accept the report as a case (optionally correcting its category and priority)."""
    check_transition(actor, case, Action.REGISTER, system_allowed=True)
    now = now or timezone.now()
    changes: dict[str, Any] = {"registered_at": now}
    data: dict[str, Any] = {}
    if category is not None:
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


def case_void(
    *, case: Case, actor: User | None, reason: str = "", now: dt.datetime | None = None
) -> Case:
    """作废: the report is not a case (no problem, out of scope, a test…) — with a reason."""
    check_transition(actor, case, Action.VOID, system_allowed=True)
    reason = require_text(reason, "reason", _("作废须填写理由。"), 500)
    now = now or timezone.now()

    def after(c: Case) -> None:
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


def _route_for_dispatch(
    case: Case,
    handler_type: str | None,
    handler_unit_code: str | None,
    handler_company: PropertyCompany | int | str | None,
) -> dict[str, Any]:
    if handler_type in (None, ""):
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
        company_id: int | str | None = (
            handler_company.pk if isinstance(handler_company, PropertyCompany) else handler_company
        )
        if not company_id:
            raise field_errors([{"field": "handler_company", "message": _("请选择物业公司。")}])
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
    actor: User | None,
    handler_type: str | None = None,
    handler_unit_code: str | None = None,
    handler_company: PropertyCompany | int | str | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Case:
    """派遣: send the case to the handling unit. The first dispatch starts the handling clock
    (due by the category's limit on the working calendar); a re-dispatch (改派) keeps it."""
    check_transition(actor, case, Action.DISPATCH, system_allowed=True)
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
        due_at = changes["due_at"]
    else:
        # A re-dispatch: the case was dispatched before, so both are set.
        assert case.dispatched_at is not None and case.due_at is not None
        changes.update(clock_for(probe, Step.HANDLE, case.dispatched_at, due=case.due_at))
        due_at = case.due_at
    data = {
        "handler_type": changes["handler_type"],
        "handler_unit_code": changes["handler_unit_code"],
        "handler_company": changes["handler_company_id"],
        "due_at": due_at.isoformat(),
    }

    def after(c: Case) -> None:
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


def case_accept(*, case: Case, actor: User, now: dt.datetime | None = None) -> Case:
    """接单: someone of the handling unit takes the case. Two at once: one wins, one gets 409."""
    check_transition(actor, case, Action.ACCEPT)
    now = now or timezone.now()
    return apply_transition(
        case, Action.ACCEPT, actor, changes={"handler": actor, "accepted_at": now}, now=now
    )


def case_return(
    *, case: Case, actor: User, reason: str = "", now: dt.datetime | None = None
) -> Case:
    """退回: "not ours" — back to the dispatcher for re-dispatch (the old clock stops)."""
    check_transition(actor, case, Action.RETURN)
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

    def after(c: Case) -> None:
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
