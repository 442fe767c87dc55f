"""Response shapes of the cases API and the functions that fill them: list items, the case
detail as a `selectors.CaseView` allows it, photos, the category tree."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from ninja import Schema

from shequ.cases import selectors
from shequ.cases.models import Case, CasePhoto


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


def case_item(case: Case, now) -> dict:
    category = case.category
    return {
        "id": case.pk,
        "code": case.code,
        "status": case.status,
        "status_label": str(case.get_status_display()),
        "category": {
            "code": category.code,
            "name": category.name,
            "group": category.parent.name if category.parent is not None else None,
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
    result = case_item(case, now)
    result.update(
        limited=limited,
        description=None if limited else case.description,
        attributes={} if limited else case.attributes,
        grid_code="" if limited else case.region_code,
        lat=None if hide else case.lat,
        lng=None if hide else case.lng,
        address="" if limited else case.address,
        handler_unit_code="" if hide else case.handler_unit_code,
        handler_company=(
            case.handler_company.name if not hide and case.handler_company is not None else None
        ),
        handler_name=None if limited or case.handler is None else case.handler.display_name,
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
        merged_into=case.merged_into.code if case.merged_into is not None else None,
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


def category_item(category) -> dict:
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


class DuplicateOut(Schema):
    case_id: int
    category: str
    status: str
    status_label: str
    distance_m: int
    reported_at: dt.datetime
    followers: int
