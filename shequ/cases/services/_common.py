"""What every transition shares: the compare-and-set, the timeline row, the step clock,
who gets told. Only the services in this package change a case's state."""

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.accounts.models import Assignment
from shequ.cases import evidence
from shequ.cases.access import (
    HANDLER_ROLE,
    LEVEL_ROLE,
    check_role,
    check_rules,
    deny,
    is_sensitive,
    level_recipients_q,
)
from shequ.cases.models import Case, CaseEvent, CaseFollow, CasePhoto, Category
from shequ.cases.workflow import (
    REOPEN_DAYS,
    TRANSITIONS,
    Action,
    HandlerType,
    PhotoKind,
    SlaLevel,
    Status,
)
from shequ.core.actors import User
from shequ.core.calendar import get_calendar
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.masking import mask_free_text, mask_name
from shequ.core.roles import ROLE_PRIORITY, Role
from shequ.core.scoping import user_assignments
from shequ.notifications.services import notify

SYSTEM_NAME = "系统"


def field_errors(errors: list[dict], message: str | None = None) -> InvalidInput:
    return InvalidInput(
        message or _("提交的内容有误，请检查后重试。"), code="invalid", details=errors
    )


def require_text(value: str | None, field: str, message: str, max_length: int = 2000) -> str:
    text = (value or "").strip()
    if not text:
        raise field_errors([{"field": field, "message": message}], message)
    if len(text) > max_length:
        msg = _("内容不能超过 %(n)d 字。") % {"n": max_length}
        raise field_errors([{"field": field, "message": msg}], msg)
    return text


def not_allowed(action: str, status: str) -> ConflictError:
    status_label = Status(status).label if status in Status.values else status
    return ConflictError(
        _("案件当前状态为「%(status)s」，不能执行「%(action)s」。")
        % {"status": status_label, "action": Action(action).label},
        code="transition_not_allowed",
        details={"status": status, "status_label": str(status_label), "action": action},
    )


def check_allowed(case: Case, action: str) -> None:
    if case.status not in TRANSITIONS[Action(action)].sources:
        raise not_allowed(action, case.status)


def check_transition(
    actor: User | None, case: Case, action: str, *, system_allowed: bool = False
) -> None:
    """The role (403), the status table (409), then the rules about this case (403)."""
    if actor is None:
        if not system_allowed:
            deny(_("需要登录。"), "unauthenticated")
        check_allowed(case, action)
        return
    check_role(actor, case, action)
    check_allowed(case, action)
    check_rules(actor, case, action)


def actor_identity(
    actor: User | None, case: Case | None = None, client: str = ""
) -> tuple[str, str]:
    """(name, role) written on the timeline. Residents appear masked; machines by client id."""
    if actor is None:
        return (client or SYSTEM_NAME), ("client" if client else "system")
    assignments = user_assignments(actor)
    chosen = None
    if case is not None:
        covering = [
            a
            for a in assignments
            if (a.scope_code and case.region_code.startswith(a.scope_code))
            or (a.property_company_id and a.property_company_id == case.handler_company_id)
        ]
        covering.sort(key=lambda a: (-len(a.scope_code), ROLE_PRIORITY.index(a.role)))
        chosen = covering[0] if covering else None
    if chosen is None and assignments:
        chosen = min(assignments, key=lambda a: ROLE_PRIORITY.index(a.role))
    role = chosen.role if chosen else ("admin" if actor.is_superuser else "")
    name = actor.display_name
    if role == Role.RESIDENT or (case is not None and case.reporter_id == actor.pk):
        name = mask_name(actor.full_name) or _("居民")
    return name[:100], role


def step_clock(
    category: Category,
    step: str,
    start: dt.datetime,
    *,
    due: dt.datetime | None = None,
    ladder_position: int | None = None,
    ladder_length: int | None = None,
) -> dict[str, Any]:
    """The fields of a step's clock: due by the category's limit, yellow at 80 %, escalation
    after the grace (when a higher ladder level exists)."""
    calendar = get_calendar()
    amount, unit = category.limit(step)
    if due is None:
        due = calendar.add(start, amount, unit)
    warn = calendar.between(start, due, 0.8, unit)
    can_escalate = ladder_position is None or (
        ladder_length is not None and ladder_position + 1 < ladder_length
    )
    escalate = (
        calendar.add(due, category.escalation_grace, category.escalation_grace_unit)
        if can_escalate
        else None
    )
    return {
        "step": step,
        "step_started_at": start,
        "step_warn_at": warn,
        "step_due_at": due,
        "escalate_at": escalate,
        "sla_level": SlaLevel.GREEN,
    }


def no_clock() -> dict[str, Any]:
    return {
        "step": "",
        "step_started_at": None,
        "step_warn_at": None,
        "step_due_at": None,
        "escalate_at": None,
        "sla_level": SlaLevel.GREEN,
    }


def clock_for(
    case: Case, step: str, start: dt.datetime, *, due: dt.datetime | None = None
) -> dict[str, Any]:
    position, length = case.ladder_position()
    return step_clock(
        case.category, step, start, due=due, ladder_position=position, ladder_length=length
    )


def apply_transition(
    case: Case,
    action: str,
    actor: User | None,
    *,
    changes: dict[str, Any],
    now: dt.datetime | None = None,
    note: str = "",
    public: bool = True,
    data: dict[str, Any] | None = None,
    cas: dict[str, Any] | None = None,
    photos: list[evidence.CheckedPhoto] | None = None,
    photo_kind: str = "",
    after_commit: Callable[[Case], None] | None = None,
    client: str = "",
    event_action: str | None = None,
) -> Case:
    """Compare-and-set the case from its current status per the transition table, append the
    timeline row (and its photos) in the same transaction, run `after_commit` on commit."""
    rule = TRANSITIONS[Action(action)]
    old = case.status
    if old not in rule.sources:
        raise not_allowed(action, old)
    target = rule.target or old
    now = now or timezone.now()
    stored: list[str] = []
    try:
        with transaction.atomic():
            updated = Case.objects.filter(pk=case.pk, status=old, **(cas or {})).update(
                status=target, version=F("version") + 1, updated_at=now, **changes
            )
            if updated != 1:
                current = Case.objects.filter(pk=case.pk).values_list("status", flat=True).first()
                if current == old:  # the status matched but another condition did not
                    raise ConflictError(
                        _("案件已被他人处理，请刷新后重试。"),
                        code="stale_case",
                        details={"status": current, "action": action},
                    )
                raise not_allowed(action, current or old)
            name, role = actor_identity(actor, case, client)
            event = CaseEvent.objects.create(
                case_id=case.pk,
                at=now,
                action=event_action or action,
                from_status=old,
                to_status=target,
                actor=actor,
                actor_name=name,
                actor_role=role,
                note=note,
                public=public,
                data=data or {},
            )
            store_photos(
                photos or [],
                case=case,
                event=event,
                kind=photo_kind,
                actor=actor,
                now=now,
                stored=stored,
            )
            case.refresh_from_db()
            if after_commit is not None:
                snapshot = case
                transaction.on_commit(lambda: after_commit(snapshot))
    except Exception:
        evidence.discard(stored)
        raise
    return case


def store_photos(
    photos: Iterable[evidence.CheckedPhoto],
    *,
    case: Case,
    event: CaseEvent,
    kind: str,
    actor: User | None,
    now: dt.datetime,
    stored: list[str],
) -> None:
    """Store checked photos (evidence.store) and their rows on a timeline event — the one photo
    step of reporting and of every transition. The stored paths are appended to `stored` so the
    caller can `evidence.discard` them when its transaction fails."""
    for photo in photos:
        path, thumb = evidence.store(photo)
        stored += [path, thumb]
        CasePhoto.objects.create(
            case_id=case.pk,
            event=event,
            kind=kind,
            path=path,
            thumb_path=thumb,
            content_type=photo.content_type,
            size=len(photo.data),
            width=photo.width,
            height=photo.height,
            sha256=photo.sha256,
            uploaded_by=actor,
            created_at=now,
        )


# --- who is told ---------------------------------------------------------------------------


def case_url(case: Case) -> str:
    return reverse("case-detail", args=[case.pk])


def _users_of(q: Q | None) -> list[int]:
    if q is None:
        return []
    return list(
        Assignment.objects.filter(q, is_active=True, user__is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )


def unit_user_ids(case: Case) -> list[int]:
    """People of the unit the case is routed to."""
    role = HANDLER_ROLE[HandlerType(case.handler_type)]
    if case.handler_type == HandlerType.PROPERTY:
        return _users_of(Q(role=role, property_company_id=case.handler_company_id))
    return _users_of(Q(role=role, region__code=case.handler_unit_code))


def dispatcher_ids(case: Case) -> list[int]:
    """The community staff of the case's community (who register, dispatch and verify)."""
    return _users_of(Q(role=Role.COMMUNITY_STAFF, region__code=case.region_code[:12]))


def level_user_ids(level: str, case: Case) -> list[int]:
    if level not in LEVEL_ROLE:
        return []
    return _users_of(level_recipients_q(level, case))


def tell(
    user_ids: Iterable[int | None],
    kind: str,
    title: str,
    case: Case,
    body: str = "",
    sms: bool = False,
    *,
    channels: Sequence[str] | None = None,
    image_url: str = "",
) -> None:
    notify(
        recipients=user_ids,
        kind=kind,
        title=title,
        body=body,
        url=case_url(case),
        obj=case,
        channels=channels if channels is not None else (("sms",) if sms else ()),
        image_url=image_url,
    )


# --- closing the loop with the resident ------------------------------------------------------


def resident_channels() -> tuple[str, ...]:
    """The external channels residents are told on besides the in-app centre (setting
    SHEQU_RESIDENT_CHANNELS: "sms", "wechat", both, or none)."""
    return tuple(getattr(settings, "SHEQU_RESIDENT_CHANNELS", ("sms",)))


def after_photo_url(case: Case) -> str:
    """The thumbnail of the case's latest after-photo (处置后/核查照片), or ""."""
    photo = (
        CasePhoto.objects.filter(case_id=case.pk, kind__in=[PhotoKind.HANDLE, PhotoKind.VERIFY])
        .order_by("-created_at", "-id")
        .only("id")
        .first()
    )
    return reverse("case-photo-thumb", args=[photo.pk]) if photo is not None else ""


def closure_summary(case: Case) -> str:
    """What was done, in the handler's and the checker's words, and the request to rate."""
    notes = dict(
        CaseEvent.objects.filter(case_id=case.pk, action__in=[Action.HANDLE, Action.VERIFY])
        .exclude(note="")
        .order_by("at", "id")
        .values_list("action", "note")
    )
    lines = []
    if notes.get(Action.HANDLE):
        lines.append(_("处置结果：%(note)s") % {"note": notes[Action.HANDLE]})
    if notes.get(Action.VERIFY):
        lines.append(_("核查意见：%(note)s") % {"note": notes[Action.VERIFY]})
    lines.append(
        _(
            "请对办理结果评价：满意、基本满意或不满意。如问题仍未解决，可在结案后 %(n)d 天内"
            "选择“不满意”并申请重新办理。"
        )
        % {"n": REOPEN_DAYS}
    )
    return "\n".join(lines)


def tell_reporter_and_followers(
    case: Case, kind: str, title: str, body: str = "", *, image_url: str = ""
) -> None:
    """Tell the reporter (with `body` and `image_url`, in the app and on the residents' channels,
    SMS/WeChat) and the followers, who get the public text only: phone and ID numbers masked,
    and nothing for a sensitive case (its notes and photos may show the household) — a follow
    never shows more than the public view of the case."""
    followers = [
        i
        for i in CaseFollow.objects.filter(case=case).values_list("user_id", flat=True)
        if i != case.reporter_id
    ]
    channels = resident_channels()
    if case.reporter_id:
        tell(
            [case.reporter_id], kind, title, case, body=body, channels=channels, image_url=image_url
        )
    if followers:
        sensitive = is_sensitive(case.category)
        public = "" if sensitive else mask_free_text(body) or ""
        tell(
            followers,
            kind,
            title,
            case,
            body=public,
            channels=channels,
            image_url="" if sensitive else image_url,
        )


def case_title(case: Case) -> str:
    return f"{case.code} {case.category.name}"
