"""Reporting a case (every channel) and following one (我也遇到).

`case_report` = `_validate_report` → `_build_case` → insert with the timeline row and the
photos (`store_photos`, the same step as every transition's) → automatic register + dispatch.
`resolve_category` is re-exported from `shequ.cases.categories` for old callers."""

import datetime as dt
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases import evidence, routing
from shequ.cases.access import deny, followable_cases
from shequ.cases.categories import clean_attributes, resolve_category
from shequ.cases.models import (
    CONTACT_PHONE_CONTEXT,
    Case,
    CaseEvent,
    CaseFollow,
    Category,
)
from shequ.cases.services._common import (
    _users_of,
    actor_identity,
    clock_for,
    field_errors,
    store_photos,
    tell,
)
from shequ.cases.services.transitions import case_dispatch, case_register
from shequ.cases.workflow import (
    OPEN_STATUSES,
    STAFF_ENTRY_CHANNELS,
    Action,
    Channel,
    PhotoKind,
    Priority,
    Status,
    Step,
)
from shequ.core import ratelimit
from shequ.core.actors import AnyUser, User
from shequ.core.crypto import blind_index
from shequ.core.errors import ConflictError, InvalidInput, NotFoundError
from shequ.core.masking import mask_free_text
from shequ.core.phones import normalize_phone
from shequ.core.roles import Role
from shequ.core.scoping import has_perm, user_assignments, user_roles
from shequ.geo.models import Building
from shequ.geo.resolve import ResolveError, home_building, home_building_of_caller, resolve_address

MAX_DESCRIPTION = 4000
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# Channels whose reporter stands in front of the problem and can take a photo.
PHOTO_CHANNELS = frozenset({Channel.RESIDENT, Channel.PATROL, Channel.API})
CHANNEL_PERMS = {
    Channel.RESIDENT: "cases.report",
    Channel.PATROL: "cases.handle",
    Channel.HOTLINE: "cases.hotline",
    Channel.PHONE: "cases.hotline",
    Channel.WALK_IN: "cases.hotline",
    Channel.API: "cases.report",
    Channel.OPEN311: "cases.report",
    Channel.MEETING: "cases.report",
    Channel.SOS: "cases.report",
}


def new_case_code(now: dt.datetime | None = None, rng: random.Random | None = None) -> str:
    """YYMMDD + six characters, e.g. 261127K7Q2MX (unique; no 0/O/1/I confusion)."""
    now = timezone.localtime(now or timezone.now())
    choice = rng.choice if rng is not None else secrets.choice
    return f"{now:%y%m%d}" + "".join(choice(CODE_ALPHABET) for _ in range(6))


def _resolve_building(value: Building | int | str | None) -> Building | None:
    if value in (None, ""):
        return None
    if isinstance(value, Building):
        return value
    text = str(value).strip()
    qs = Building.objects.select_related("estate")
    return qs.filter(code=text).first() or (
        qs.filter(pk=int(text)).first() if text.isdigit() and len(text) < 12 else None
    )


def _place_from_address(
    actor: User | None,
    reporter: User | None,
    channel: Channel,
    address: str,
    contact_phone: str = "",
) -> tuple[routing.Place | None, dict[str, Any]]:
    """No point and no building: the place the typed address names (小区 + 幢 + 单元), the
    reporter's own estate (a hotline caller's: found by their number in the registry) standing
    in for "3幢"; else a field error saying what to add."""
    text = (address or "").strip()
    if not text:
        if channel in STAFF_ENTRY_CHANNELS:
            message = _("请填写地点（小区名称和楼栋号，如：金陵花园 3 幢），或在地图上点选位置。")
        else:
            message = _(
                "请在地图上点选问题位置，或在“位置说明”里写明小区和楼栋（如：金陵花园 3 幢）。"
            )
        return None, {"field": "location", "message": message}
    person = reporter if reporter is not None else actor
    home = home_building(person) if channel not in STAFF_ENTRY_CHANNELS else None
    # Namesake estates: prefer the one in the staff member's scope, the resident's community.
    within = ""
    if actor is not None:
        staff = channel in STAFF_ENTRY_CHANNELS | {Channel.PATROL}
        scopes = {
            a.scope_code if staff else a.scope_code[:12]
            for a in user_assignments(actor)
            if a.scope_code
        }
        within = scopes.pop() if len(scopes) == 1 else ""
    if channel in STAFF_ENTRY_CHANNELS and contact_phone:
        home = home_building_of_caller(contact_phone, within=within)
    try:
        resolved = resolve_address(text[:200], within=within, home=home)
    except ResolveError as exc:
        return None, {"field": "address", "message": exc.message}
    if resolved is None:
        return None, {
            "field": "address",
            "message": _(
                "未能根据“%(address)s”找到位置：请写明小区（或村）名称和楼栋号，"
                "如“金陵花园 3 幢 2 单元”，或在地图上点选。"
            )
            % {"address": text[:50]},
        }
    return (
        routing.Place(
            grid_code=resolved.grid_code,
            lat=resolved.lat,
            lng=resolved.lng,
            address=text if resolved.building is None else (text or resolved.label),
            building=resolved.building,
        ),
        {},
    )


def reporting_channel(user: AnyUser) -> str:
    """The channel of a report filed on the product's own page: 巡查 for a grid worker (or any
    handler), 居民 for a resident, API for anyone else."""
    roles = user_roles(user)
    if Role.GRID_WORKER in roles:
        return Channel.PATROL
    if Role.RESIDENT in roles:
        return Channel.RESIDENT
    return Channel.PATROL if has_perm(user, "cases.handle") else Channel.API


def report_rate_check(*, actor: User, request: HttpRequest) -> None:
    """Residents' own reports are rate limited (setting SHEQU_RATE_LIMITS["report"]); staff
    entry — any staff role, the hotline desk included — is not. Raises RateLimited (429)."""
    if actor.is_superuser or user_roles(actor) - {Role.RESIDENT, Role.PARTNER_CONTACT}:
        return
    ratelimit.check(request, "report", key=f"user:{actor.pk}")


@dataclass
class _Report:
    """A report that passed validation: what `_build_case` needs."""

    channel: Channel
    category: Category
    text: str
    attributes: dict
    place: routing.Place
    photos: list[evidence.CheckedPhoto]
    source_ref: str
    phone: str


def case_report(
    *,
    actor: User | None,
    category: Category | str | None,
    description: str,
    channel: str = Channel.RESIDENT,
    lat: float | str | None = None,
    lng: float | str | None = None,
    crs: str = "wgs84",
    building: Building | int | str | None = None,
    address: str = "",
    attributes: dict[str, Any] | None = None,
    photos: Iterable[evidence.Upload] = (),
    source_ref: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    client: str = "",
    device_id: str = "",
    media_url: str = "",
    priority: str | None = None,
    reporter: User | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Report a case (信息收集) through any channel; the case code, grid and handler are set here.

    `actor` is the logged-in user; machines (Open311) pass actor=None with their `client`
    identity after authenticating themselves. When the category dispatches automatically the
    system registers and dispatches the case in the same transaction (the clock starts).
    Raises InvalidInput (400) with field errors, PermissionDeniedError (403), ConflictError (409)
    for a source work-order number already used.
    """
    now = now or timezone.now()
    report = _validate_report(
        actor=actor,
        category=category,
        description=description,
        channel=channel,
        lat=lat,
        lng=lng,
        crs=crs,
        building=building,
        address=address,
        attributes=attributes,
        photos=photos,
        source_ref=source_ref,
        contact_name=contact_name,
        contact_phone=contact_phone,
        client=client,
        priority=priority,
        reporter=reporter,
    )
    case = _build_case(
        report,
        actor=actor,
        reporter=reporter,
        client=client,
        device_id=device_id,
        media_url=media_url,
        contact_name=contact_name,
        priority=priority,
        now=now,
    )
    stored: list[str] = []
    try:
        with transaction.atomic():
            _insert(case, report)
            name, role = actor_identity(actor, case, client)
            event = CaseEvent.objects.create(
                case=case,
                at=now,
                action=Action.REPORT,
                from_status="",
                to_status=Status.REPORTED,
                actor=actor,
                actor_name=name,
                actor_role=role,
                note="",
                data={"channel": report.channel},
            )
            store_photos(
                report.photos,
                case=case,
                event=event,
                kind=PhotoKind.REPORT,
                actor=actor,
                now=now,
                stored=stored,
            )
            if report.place.near_grids:
                transaction.on_commit(lambda: _tell_neighbours(case))
            if report.category.auto_dispatch:
                case_register(case=case, actor=None, now=now, note=_("定位明确，系统自动立案"))
                case_dispatch(case=case, actor=None, now=now, note=_("按类别和位置自动派遣"))
    except Exception:
        evidence.discard(stored)
        raise
    return case


def _validate_report(
    *,
    actor: User | None,
    category: Category | str | None,
    description: str,
    channel: str,
    lat: float | str | None,
    lng: float | str | None,
    crs: str,
    building: Building | int | str | None,
    address: str,
    attributes: dict[str, Any] | None,
    photos: Iterable[evidence.Upload],
    source_ref: str,
    contact_name: str,
    contact_phone: str,
    client: str,
    priority: str | None,
    reporter: User | None,
) -> _Report:
    """Who may report through the channel, every field error at once (400), then the scope of
    the place (403) and a source work-order number already used (409)."""
    try:
        channel = Channel(channel)
    except ValueError:
        raise field_errors(
            [{"field": "channel", "message": _("未知的来源渠道。")}], _("未知的来源渠道。")
        ) from None
    if actor is None:
        if not client:
            deny(_("需要登录或有效的接入凭证。"), "unauthenticated")
    elif not has_perm(actor, CHANNEL_PERMS[channel]):
        deny(_("您没有通过该渠道登记案件的权限。"))

    errors: list[dict] = []
    category_obj = resolve_category(category)
    if category_obj is None:
        errors.append(
            {
                "field": "category",
                "message": _("未知的问题类别：%(code)s。") % {"code": category or "—"},
            }
        )
    text = (description or "").strip()
    if not text:
        errors.append({"field": "description", "message": _("请填写问题描述。")})
    elif len(text) > MAX_DESCRIPTION:
        errors.append(
            {
                "field": "description",
                "message": _("问题描述不能超过 %(max)d 字（当前 %(n)d 字）。")
                % {"max": MAX_DESCRIPTION, "n": len(text)},
            }
        )
    clean_attrs: dict = {}
    if category_obj is not None:
        clean_attrs, attr_errors = clean_attributes(category_obj, attributes)
        errors += attr_errors

    place = None
    building_obj = _resolve_building(building)
    if building not in (None, "") and building_obj is None:
        errors.append({"field": "building", "message": _("未找到该楼栋。")})
    elif building_obj is not None:
        place = routing.place_from_building(building_obj, address)
    elif lat in (None, "") and lng in (None, ""):
        place, error = _place_from_address(actor, reporter, channel, address, contact_phone)
        if error:
            errors.append(error)
    else:
        try:
            place = routing.place_from_point(lat, lng, crs or "wgs84", address)
        except InvalidInput as exc:
            errors += exc.details or [{"field": "lat", "message": exc.message}]

    checked = []
    try:
        checked = evidence.check_photos(photos)
    except InvalidInput as exc:
        errors += exc.details
    if (
        category_obj is not None
        and category_obj.photo_required
        and channel in PHOTO_CHANNELS
        and not checked
        and not photos
    ):
        errors.append({"field": "photos", "message": _("该类问题需要上传现场照片。")})

    source_ref = (source_ref or "").strip()
    if channel == Channel.HOTLINE and not source_ref:
        errors.append({"field": "source_ref", "message": _("请填写 12345 工单号。")})
    if len(source_ref) > 64:
        errors.append({"field": "source_ref", "message": _("工单号不能超过 64 个字符。")})
    phone = ""
    if contact_phone:
        try:
            phone = normalize_phone(contact_phone)
        except InvalidInput as exc:
            errors.append({"field": "contact_phone", "message": exc.message})
    if len(contact_name or "") > 50:
        errors.append({"field": "contact_name", "message": _("联系人姓名不能超过 50 字。")})
    if priority and priority not in Priority.values:
        errors.append({"field": "priority", "message": _("紧急程度无效。")})
    if len(address or "") > 200:
        errors.append({"field": "address", "message": _("地点描述不能超过 200 字。")})
    if errors:
        raise field_errors(errors)
    # Without a field error both are known: every path that leaves them None adds one.
    assert category_obj is not None and place is not None

    if actor is not None and channel in STAFF_ENTRY_CHANNELS | {Channel.PATROL}:
        perm = CHANNEL_PERMS[channel]
        if not has_perm(actor, perm, place.grid_code):
            deny(_("该位置不在您的管辖范围内。"), "outside_scope")
    if source_ref and Case.objects.filter(channel=channel, source_ref=source_ref).exists():
        raise _duplicate_source(source_ref)
    return _Report(
        channel=channel,
        category=category_obj,
        text=text,
        attributes=clean_attrs,
        place=place,
        photos=checked,
        source_ref=source_ref,
        phone=phone,
    )


def _build_case(
    report: _Report,
    *,
    actor: User | None,
    reporter: User | None,
    client: str,
    device_id: str,
    media_url: str,
    contact_name: str,
    priority: str | None,
    now: dt.datetime,
) -> Case:
    """The unsaved case: code, route to the handling unit, the description masked at rest (the
    original encrypted beside it), the register step's clock."""
    place, category, text, channel = report.place, report.category, report.text, report.channel
    route = routing.route(category.handler_type, place)
    masked_text = mask_free_text(text)  # at rest masked; the original encrypted beside it
    assert masked_text is not None  # the text is not empty (validated)
    if reporter is None and actor is not None and channel not in STAFF_ENTRY_CHANNELS:
        reporter = actor
    phone = report.phone
    case = Case(
        code=new_case_code(now),
        category=category,
        channel=channel,
        source_ref=report.source_ref,
        client=(client or "")[:100],
        device_id=(device_id or "")[:100],
        media_url=(media_url or "")[:500],
        status=Status.REPORTED,
        priority=priority or category.priority,
        description=masked_text,
        description_original=text if masked_text != text else "",
        attributes=report.attributes,
        lat=place.lat,
        lng=place.lng,
        address=(place.address or "")[:200],
        building=place.building,
        region_code=place.grid_code,
        near_grids=place.near_grids,
        reporter=reporter,
        contact_name=(contact_name or "").strip(),
        contact_phone=phone,
        contact_phone_hash=blind_index(phone, context=CONTACT_PHONE_CONTEXT) if phone else "",
        handler_type=route.handler_type,
        handler_unit_code=route.handler_unit_code,
        handler_company_id=route.handler_company_id,
        reported_at=now,
        updated_at=now,
    )
    case.category = category
    for name, value in clock_for(case, Step.REGISTER, now).items():
        setattr(case, name, value)
    return case


def _insert(case: Case, report: _Report) -> None:
    """Insert the case; a source work-order number taken meanwhile is a 409, a collision of the
    code's random part draws a new code (three tries)."""
    source_ref, channel = report.source_ref, report.channel
    for attempt in range(3):
        try:
            with transaction.atomic():
                case.save(force_insert=True)
            return
        except IntegrityError:
            if source_ref and Case.objects.filter(channel=channel, source_ref=source_ref).exists():
                raise _duplicate_source(source_ref) from None
            if attempt == 2 or not Case.objects.filter(code=case.code).exists():
                raise
            case.code = new_case_code(case.reported_at)  # a rare collision of the random part


def _duplicate_source(source_ref: str) -> ConflictError:
    message = _("来源工单号 %(ref)s 已登记过，请勿重复登记。") % {"ref": source_ref}
    return ConflictError(
        message,
        code="duplicate_source_ref",
        details=[{"field": "source_ref", "message": message}],
    )


def _tell_neighbours(case: Case) -> None:
    ids = _users_of(Q(role=Role.GRID_WORKER, region__code__in=case.near_grids))
    tell(
        ids,
        "case_near_boundary",
        _("相邻网格边界附近有新上报：%(title)s") % {"title": f"{case.code} {case.category.name}"},
        case,
        body=_("该问题位于您网格边界 30 米范围内，已由所在网格处置，请知悉并协助。"),
    )


@transaction.atomic
def case_follow(*, case: Case, actor: User) -> CaseFollow:
    """我也遇到: follow an open case (instead of reporting a duplicate); idempotent.

    Only a case in `access.followable_cases` (else 404, like any lookup outside the scope)."""
    if not has_perm(actor, "cases.report"):
        deny(_("您没有执行此操作的权限。"))
    if not followable_cases(actor).filter(pk=case.pk).exists():
        raise NotFoundError(_("未找到该案件。"), code="not_found")
    if case.status not in OPEN_STATUSES:
        raise ConflictError(
            _("该案件已办结或已关闭，无法关注。"),
            code="case_not_open",
            details={"status": case.status},
        )
    if case.reporter_id == actor.pk:
        raise ConflictError(_("这是您自己上报的案件。"), code="own_case")
    follow, created = CaseFollow.objects.get_or_create(case=case, user=actor)
    if created:
        Case.objects.filter(pk=case.pk).update(follower_count=F("follower_count") + 1)
        name, role = actor_identity(actor, case)
        CaseEvent.objects.create(
            case=case,
            action="follow",
            from_status=case.status,
            to_status=case.status,
            actor=actor,
            actor_name=name,
            actor_role=role,
            note=_("又有居民反映了同一问题"),
            public=False,
        )
    return follow
