"""Closed-loop API (/api/v1/cases, /api/v1/categories), on the same services as the pages.

POST bodies may be JSON (photos as base64 strings) or multipart/form-data (photos as files,
`attributes` as a JSON string or `attribute[code]` fields). Errors are
{"code", "message", "details"} with 400 (field errors in Chinese), 403, 404, 409.
"""

import base64
import binascii
import datetime as dt
from typing import Any, Literal

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.errors import ValidationError
from ninja.responses import Status
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from shequ.cases import access, selectors, services
from shequ.cases.models import Case, CasePhoto
from shequ.cases.workflow import Action, Channel
from shequ.cases.workflow import Status as CaseStatus
from shequ.core.errors import InvalidInput
from shequ.core.params import ApiDate
from shequ.core.sanitize import json_loads

API_PREFIX = "/"
router = Router(tags=["cases"])

MAX_PAGE_SIZE = 200
MAX_PAGE = 100_000  # OFFSET stays far inside 64 bits (SQLite refused 10**17 × 50)


# --- input -----------------------------------------------------------------------------------


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=20, description="小类代码，如 0101")
    description: str = Field(max_length=20000, description="问题描述（不超过 4000 字）")
    lat: float | None = Field(default=None, description="纬度")
    lng: float | None = Field(default=None, description="经度")
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    building: str | None = Field(default=None, max_length=30, description="楼栋编码（代替坐标）")
    address: str = Field(default="", max_length=1000)
    attributes: dict[str, Any] = Field(default_factory=dict)
    photos: list[str] = Field(default_factory=list, description="base64 编码的照片（JSON 时）")
    channel: Literal["api", "resident", "patrol", "hotline", "phone", "walk_in"] = "api"
    source_ref: str = Field(default="", max_length=1000)
    contact_name: str = Field(default="", max_length=1000)
    contact_phone: str = Field(default="", max_length=40)
    priority: Literal["normal", "urgent", "emergency"] | None = None


ACTIONS = tuple(a.value for a in Action if a != Action.REPORT)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal[ACTIONS]  # type: ignore[valid-type]
    note: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(default=None, max_length=4000)
    category: str | None = None
    priority: Literal["normal", "urgent", "emergency"] | None = None
    handler_type: Literal["grid", "community", "township", "city", "property"] | None = None
    handler_unit_code: str | None = None
    handler_company: int | None = None
    amount: int | None = None
    approved: bool | None = None
    rating: Literal["satisfied", "basic", "unsatisfied"] | None = None
    comment: str | None = Field(default=None, max_length=4000)
    reopen: bool | None = None
    into: str | None = Field(default=None, description="合并目标案件的 id 或编号")
    contacted: bool | None = None
    resolved: bool | None = None
    photos: list[str] = Field(default_factory=list)


def _form_data(request) -> tuple[dict, list]:
    data: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key in request.POST:
        values = request.POST.getlist(key)
        if key.startswith("attribute[") and key.endswith("[]"):
            attributes[key[10:-3]] = values
        elif key.startswith("attribute["):
            attributes[key[10:-1]] = values[-1]
        elif key == "attributes":
            try:
                attributes.update(json_loads(values[-1] or "{}"))
            except (ValueError, TypeError, AttributeError):
                raise _body_error("attributes", _("附加信息应为 JSON 对象。")) from None
        else:
            data[key] = values[-1]
    if attributes:
        data["attributes"] = attributes
    for key in ("lat", "lng", "amount", "handler_company"):
        if data.get(key) == "":
            data.pop(key)
    return data, request.FILES.getlist("photos")


def _json_data(request) -> tuple[dict, list]:
    try:
        data = json_loads(request.body or b"{}")
    except ValueError:
        raise _body_error("body", _("请求体不是有效的 JSON。"), "malformed_request") from None
    if not isinstance(data, dict):
        raise _body_error("body", _("请求体应为 JSON 对象。"), "malformed_request")
    photos = []
    for index, encoded in enumerate(data.get("photos") or []):
        if not isinstance(encoded, str):
            raise _body_error(f"photos.{index}", _("照片应为 base64 字符串。"))
        if encoded.startswith("data:") and "," in encoded:
            encoded = encoded.split(",", 1)[1]
        try:
            photos.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            raise _body_error(f"photos.{index}", _("照片不是有效的 base64 编码。")) from None
    return data, photos


def _body_error(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, details=[{"field": field, "message": message}])


def _parse(request, model: type[BaseModel]):
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        data, photos = _form_data(request)
    else:
        data, photos = _json_data(request)
    data = {**data, "photos": []}
    try:
        return model.model_validate(data), photos
    except PydanticError as exc:
        raise ValidationError(
            [
                {"loc": ("body", *error["loc"]), "type": error["type"], "msg": error["msg"]}
                for error in exc.errors()
            ]
        ) from None


MULTIPART_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CaseIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "category": {"type": "string"},
                        "description": {"type": "string"},
                        "lat": {"type": "number"},
                        "lng": {"type": "number"},
                        "building": {"type": "string"},
                        "attributes": {"type": "string", "description": "JSON object"},
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                    "required": ["category", "description"],
                }
            },
        },
        "required": True,
    }
}
TRANSITION_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/TransitionIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "action": {"type": "string", "enum": list(ACTIONS)},
                        "note": {"type": "string"},
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                    "required": ["action"],
                }
            },
        },
        "required": True,
    }
}


# --- output ----------------------------------------------------------------------------------


class CaseCreated(Schema):
    id: int
    code: str
    status: str
    grid_code: str
    due_at: dt.datetime | None


class CategoryRef(Schema):
    code: str
    name: str
    group: str | None


class CaseItem(Schema):
    id: int
    code: str
    status: str
    status_label: str
    category: CategoryRef
    channel: str
    priority: str
    grid_code: str
    handler_type: str
    reported_at: dt.datetime
    due_at: dt.datetime | None
    step: str
    step_due_at: dt.datetime | None
    sla_level: str
    supervised: bool


class CasePage(Schema):
    count: int
    page: int
    page_size: int
    items: list[CaseItem]


class PhotoOut(Schema):
    id: int
    kind: str
    url: str
    thumb_url: str
    width: int
    height: int


class EventOut(Schema):
    id: int
    at: dt.datetime
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor_name: str
    actor_role: str
    note: str
    public: bool
    data: dict
    photos: list[PhotoOut]


class CaseDetail(CaseItem):
    limited: bool
    description: str | None
    attributes: dict
    lat: float | None
    lng: float | None
    address: str
    handler_unit_code: str
    handler_company: str | None
    handler_name: str | None
    registered_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    accepted_at: dt.datetime | None
    handled_at: dt.datetime | None
    closed_at: dt.datetime | None
    updated_at: dt.datetime
    escalation_level: int
    extension_requested: int | None
    extension_count: int
    rework_count: int
    reopen_count: int
    satisfaction: str
    follower_count: int
    merged_into: str | None
    source_ref: str
    contact_name: str
    contact_phone: str
    media_url: str
    timeline: list[EventOut]
    actions: list[str]


def _item(case: Case, now) -> dict:
    category = case.category
    return {
        "id": case.pk,
        "code": case.code,
        "status": case.status,
        "status_label": str(case.get_status_display()),
        "category": {
            "code": category.code,
            "name": category.name,
            "group": category.parent.name if category.parent_id else None,
        },
        "channel": case.channel,
        "priority": case.priority,
        "grid_code": case.region_code,
        "handler_type": case.handler_type,
        "reported_at": case.reported_at,
        "due_at": case.due_at,
        "step": case.step,
        "step_due_at": case.step_due_at,
        "sla_level": case.live_sla_level(now),
        "supervised": case.supervised,
    }


def _photo(photo: CasePhoto) -> dict:
    url = reverse("api:case_photo", kwargs={"case_id": photo.case_id, "photo_id": photo.pk})
    return {
        "id": photo.pk,
        "kind": photo.kind,
        "url": url,
        "thumb_url": url + "?thumb=1",
        "width": photo.width,
        "height": photo.height,
    }


def detail(view: selectors.CaseView) -> dict:
    """One case as `view` allows. A follower (`limited`) gets the public fields only: no grid,
    and for a sensitive group no coordinates or handling unit either (as Open311)."""
    case, limited, hide = view.case, view.limited, view.hide_place
    now = timezone.now()
    result = _item(case, now)
    result.update(
        limited=limited,
        description=None if limited else case.description,
        attributes={} if limited else case.attributes,
        grid_code="" if limited else case.region_code,
        lat=None if hide else case.lat,
        lng=None if hide else case.lng,
        address="" if limited else case.address,
        handler_unit_code="" if hide else case.handler_unit_code,
        handler_company=case.handler_company.name if case.handler_company_id and not hide else None,
        handler_name=None if limited or not case.handler_id else case.handler.display_name,
        registered_at=case.registered_at,
        dispatched_at=case.dispatched_at,
        accepted_at=case.accepted_at,
        handled_at=case.handled_at,
        closed_at=case.closed_at,
        updated_at=case.updated_at,
        escalation_level=case.escalation_level,
        extension_requested=case.extension_requested,
        extension_count=case.extension_count,
        rework_count=case.rework_count,
        reopen_count=case.reopen_count,
        satisfaction=case.satisfaction,
        follower_count=case.follower_count,
        merged_into=case.merged_into.code if case.merged_into_id else None,
        source_ref="" if limited else case.source_ref,
        contact_name="" if limited else case.masked_contact_name,
        contact_phone="" if limited else case.masked_contact_phone,
        media_url="" if limited else case.media_url,
        actions=view.actions,
        timeline=[
            {
                "id": event.pk,
                "at": event.at,
                "action": event.action,
                "action_label": str(event.action_label),
                "from_status": event.from_status,
                "to_status": event.to_status,
                "actor_name": "" if limited else event.actor_name,
                "actor_role": event.actor_role,
                "note": event.note,
                "public": event.public,
                "data": {} if limited else event.data,
                "photos": [_photo(p) for p in view.photos_by_event.get(event.pk, [])],
            }
            for event in view.events
        ],
    )
    return result


# --- endpoints -------------------------------------------------------------------------------


class CategoryAttributeOut(Schema):
    code: str
    name: str
    datatype: str
    required: bool
    order: int
    description: str
    values: list[dict]


class CategoryOut(Schema):
    code: str
    name: str
    description: str
    keywords: str
    handler_type: str
    priority: str
    photo_required: bool
    auto_dispatch: bool
    limits: dict
    escalation_ladder: list[str]
    duplicate_radius_m: int
    duplicate_days: int
    attributes: list[CategoryAttributeOut]


class CategoryGroupOut(Schema):
    code: str
    name: str
    children: list[CategoryOut]


def _category(category) -> dict:
    return {
        "code": category.code,
        "name": category.name,
        "description": category.description,
        "keywords": category.keywords,
        "handler_type": category.handler_type,
        "priority": category.priority,
        "photo_required": category.photo_required,
        "auto_dispatch": category.auto_dispatch,
        "limits": {
            step: {"amount": category.limit(step)[0], "unit": category.limit(step)[1]}
            for step in ("register", "dispatch", "handle", "verify")
        }
        | {
            "escalation_grace": {
                "amount": category.escalation_grace,
                "unit": category.escalation_grace_unit,
            }
        },
        "escalation_ladder": category.ladder,
        "duplicate_radius_m": category.duplicate_radius_m,
        "duplicate_days": category.duplicate_days,
        "attributes": list(category.attributes.all()),
    }


@router.get("categories", response=list[CategoryGroupOut], summary="问题类别（大类/小类）")
def category_list(request):
    """The category tree with time limits, handler types and Open311-shaped attributes."""
    return [
        {"code": g.code, "name": g.name, "children": [_category(c) for c in g.children.all()]}
        for g in selectors.categories_tree()
    ]


@router.post(
    "cases",
    response={201: CaseCreated},
    summary="上报案件",
    openapi_extra=MULTIPART_DOC,
)
def case_create(request):
    """Report a case. JSON or multipart; `Idempotency-Key` makes a retry return the first answer.

    → 201 `{id, code, status, grid_code, due_at}`; 400 with field errors; 409 when the source
    work-order number was already registered.
    """
    services.report_rate_check(actor=request.user, request=request)
    payload, photos = _parse(request, CaseIn)
    data = payload.model_dump(exclude={"photos"})
    case = services.case_report(actor=request.user, photos=photos, **data)
    return Status(
        201,
        {
            "id": case.pk,
            "code": case.code,
            "status": case.status,
            "grid_code": case.region_code,
            "due_at": case.due_at,
        },
    )


@router.get("cases", response=CasePage, summary="案件列表（按权限范围）")
def case_list(
    request,
    status: str | None = Query(None, description="逗号分隔；open 表示所有未结状态"),
    category: str | None = None,
    channel: str | None = None,
    region: str | None = Query(None, description="区划代码前缀"),
    overdue: bool | None = None,
    mine: bool = False,
    assigned: bool = Query(False, description="派给我所在处置单位的"),
    date_from: ApiDate | None = Query(None, alias="from"),  # noqa: B008
    date_to: ApiDate | None = Query(None, alias="to"),  # noqa: B008
    q: str | None = Query(None, description="案件编号或来源工单号"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
):
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else None
    for value in statuses or []:
        if value != "open" and value not in CaseStatus.values:
            raise _body_error("status", _("未知的状态：%(s)s。") % {"s": value})
    if channel and channel not in Channel.values:
        raise _body_error("channel", _("未知的来源渠道：%(c)s。") % {"c": channel})
    if region and not (region.isdigit() and len(region) in (6, 9, 12, 15)):
        raise _body_error("region", _("区划代码无效：应为 6、9、12 或 15 位数字。"))
    tz = timezone.get_current_timezone()
    qs = selectors.case_search(
        request.user,
        status=statuses,
        category=category,
        channel=channel,
        region=region,
        overdue=overdue,
        mine=mine,
        assigned=assigned,
        reported_from=dt.datetime.combine(date_from, dt.time(), tzinfo=tz) if date_from else None,
        reported_to=(
            dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=tz)
            if date_to
            else None
        ),
        q=q,
    )
    count = qs.count()
    start = (page - 1) * page_size
    now = timezone.now()
    return {
        "count": count,
        "page": page,
        "page_size": page_size,
        "items": [_item(case, now) for case in qs[start : start + page_size]],
    }


class DuplicateOut(Schema):
    case_id: int
    category: str
    status: str
    status_label: str
    distance_m: int
    reported_at: dt.datetime
    followers: int


@router.get("cases/duplicates", response=list[DuplicateOut], summary="疑似重复（附近同类未结案件）")
def duplicate_list(request, category: str, lat: float, lng: float):
    """Open cases of the same category within the category's radius and days — no personal
    data, so residents can follow one (我也遇到) instead of filing again."""
    from shequ.cases.services.report import resolve_category

    found = resolve_category(category)
    if found is None:
        raise _body_error("category", _("未知的问题类别：%(code)s。") % {"code": category})
    return selectors.duplicate_candidates(category=found, lat=lat, lng=lng, user=request.user)


@router.get("cases/{int:case_id}", response=CaseDetail, summary="案件详情（含流转记录）")
def case_get(request, case_id: int):
    return detail(selectors.case_for_user(request.user, case_id))


def _resolve_into(request, value) -> Case:
    if not value:
        raise _body_error("into", _("请指定合并目标案件。"))
    target = access.find_merge_target(request.user, value)
    if target is None:
        raise _body_error("into", _("未找到合并目标案件。"))
    return target


@router.post(
    "cases/{int:case_id}/transitions",
    response=CaseDetail,
    summary="案件流转",
    openapi_extra=TRANSITION_DOC,
)
def case_transition(request, case_id: int):
    """Apply one action: register | void | dispatch | accept | handle | verify | rework |
    extend | approve_extension | return | reopen | rate | merge | supervise | escalate | visit.

    → the updated case; 409 when the action is not allowed from the current status (the message
    names it); 403 when the role may not; 404 outside the user's scope.
    """
    case = access.get_case_or_404(request.user, case_id)
    payload, photos = _parse(request, TransitionIn)
    params = payload.model_dump(exclude={"action", "photos"}, exclude_none=True)
    if payload.action == Action.MERGE:
        params["into"] = _resolve_into(request, payload.into)
    if photos:
        params["photos"] = photos
    if payload.action == Action.APPROVE_EXTENSION and "approved" not in params:
        params["approved"] = True
    services.case_apply(payload.action, case=case, actor=request.user, **params)
    return detail(selectors.case_for_user(request.user, case_id))


class FollowOut(Schema):
    case_id: int
    following: bool


@router.post("cases/{int:case_id}/follow", response=FollowOut, summary="我也遇到（关注）")
def case_follow(request, case_id: int):
    """Follow an open case instead of reporting it again. Residents may follow their own grid's
    cases and their community's public ones, staff the cases in their scope; anything else is
    404. The follower's detail is the public view (no grid; no place for sensitive groups).
    409 `case_not_open` / `own_case`."""
    case = access.get_followable_or_404(request.user, case_id)
    services.case_follow(case=case, actor=request.user)
    return {"case_id": case.pk, "following": True}


@router.get(
    "cases/{int:case_id}/photos/{int:photo_id}",
    url_name="case_photo",
    summary="案件照片（仅限有权查看案件的人）",
)
def case_photo(request, case_id: int, photo_id: int, thumb: bool = False):
    from shequ.cases.views import photo_response

    return photo_response(request.user, photo_id, thumb=thumb, case_id=case_id)


class DescriptionRevealIn(Schema):
    reason: str = Field(max_length=500, description="查看理由（至少 2 个字，写入审计日志）")


class DescriptionRevealOut(Schema):
    case_id: int
    description: str = Field(description="问题描述原文（含完整号码）")


@router.post(
    "cases/{int:case_id}/description/reveal",
    response=DescriptionRevealOut,
    summary="查看问题描述原文（需理由，留痕）",
)
def case_description_reveal(
    request, case_id: int, payload: DescriptionRevealIn, response: HttpResponse
):
    """The description as typed, numbers unmasked (stored masked; the original is encrypted).
    Staff of the case's scope only (403 otherwise, audited); `Cache-Control: no-store`."""
    case = access.get_case_or_404(request.user, case_id)
    text = services.case_reveal_description(
        actor=request.user, case=case, reason=payload.reason, request=request
    )
    response["Cache-Control"] = "no-store"
    return {"case_id": case.pk, "description": text}


__all__ = ["FileResponse", "router"]
