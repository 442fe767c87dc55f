"""How Shequ's cases look through Open311: the status mapping and the public fields.

Status (GeoReport v2 knows only open/closed):
    reported, registered, dispatched, accepted, handled  → open
    closed, voided, merged                               → closed

FixMyStreet extended status of an update, by the timeline event it comes from:
    report → OPEN                 register → INVESTIGATING
    dispatch (first) → ACTION_SCHEDULED   dispatch (改派, re-dispatch) → INTERNAL_REFERRAL
    accept → IN_PROGRESS          handle → IN_PROGRESS     rework → IN_PROGRESS
    return → INTERNAL_REFERRAL    approve_extension → ACTION_SCHEDULED
    verify → FIXED                reopen → REOPEN
    void → NO_FURTHER_ACTION      merge → DUPLICATE
    open311_update (a client's note) → the extended status of the case's status at that time:
    reported OPEN, registered INVESTIGATING, dispatched ACTION_SCHEDULED, accepted/handled
    IN_PROGRESS, closed FIXED, voided NO_FURTHER_ACTION, merged DUPLICATE.

Never published: reporters' or contacts' names, phones, emails, accounts; staff names; internal
timeline rows (escalation, supervision, extension requests, ratings, 回访). Mobile, ID and
landline numbers typed into descriptions or notes are masked (+86 and full-width digits, groups
with spaces, area codes: `shequ.core.masking.mask_free_text`). Categories in SHEQU_OPEN311_PRIVATE_GROUPS (disputes,
livelihood needs: they concern named households) are listed with their status only.
"""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases.models import Case, CaseEvent, Category
from shequ.cases.workflow import OPEN_STATUSES, Action, Status
from shequ.core.deadlines import LimitUnit
from shequ.core.masking import mask_free_text

UPDATE_ACTION = "open311_update"
ZIPCODE = "212300"

STATUS_OPEN_CLOSED = {s.value: ("open" if s in OPEN_STATUSES else "closed") for s in Status}
EXTENDED_OF_STATUS = {
    Status.REPORTED: "OPEN",
    Status.REGISTERED: "INVESTIGATING",
    Status.DISPATCHED: "ACTION_SCHEDULED",
    Status.ACCEPTED: "IN_PROGRESS",
    Status.HANDLED: "IN_PROGRESS",
    Status.CLOSED: "FIXED",
    Status.VOIDED: "NO_FURTHER_ACTION",
    Status.MERGED: "DUPLICATE",
}
EXTENDED_OF_ACTION = {
    Action.REPORT: "OPEN",
    Action.REGISTER: "INVESTIGATING",
    Action.DISPATCH: "ACTION_SCHEDULED",
    Action.ACCEPT: "IN_PROGRESS",
    Action.HANDLE: "IN_PROGRESS",
    Action.REWORK: "IN_PROGRESS",
    Action.RETURN: "INTERNAL_REFERRAL",
    Action.APPROVE_EXTENSION: "ACTION_SCHEDULED",
    Action.VERIFY: "FIXED",
    Action.REOPEN: "REOPEN",
    Action.VOID: "NO_FURTHER_ACTION",
    Action.MERGE: "DUPLICATE",
}
# Timeline rows that Open311 shows as updates (when public).
UPDATE_ACTIONS = (*(a.value for a in EXTENDED_OF_ACTION), UPDATE_ACTION)
# Statuses a client may send with an update (FixMyStreet's list).
EXTENDED_STATUSES = (
    "OPEN",
    "CLOSED",
    "INVESTIGATING",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "FIXED",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "INTERNAL_REFERRAL",
    "FOR_TRIAGE",
    "CANCELLED",
    "REOPEN",
)


def scrub(text: str | None) -> str | None:
    """Mask mobile, ID and landline numbers that people typed into free text."""
    return mask_free_text(text)


def iso(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def private_groups() -> set[str]:
    return set(getattr(settings, "SHEQU_OPEN311_PRIVATE_GROUPS", ("07", "09")))


def is_private(category: Category) -> bool:
    group = category.parent.code if category.parent_id else category.code
    return group in private_groups()


def service_notice(category: Category) -> str:
    amount, unit = category.limit("handle")
    return _("立案派遣后预计 %(amount)d 个%(unit)s内处置完毕。") % {
        "amount": amount,
        "unit": LimitUnit(unit).label,
    }


def service(category: Category) -> dict:
    count = getattr(category, "attribute_count", None)
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or category.full_name,
        "metadata": bool(count) if count is not None else category.attributes.exists(),
        "type": "realtime",
        "keywords": ",".join(category.keywords.split()) or None,
        "group": category.parent.name if category.parent_id else None,
    }


def service_definition(category: Category) -> dict:
    attributes = []
    for attribute in category.attributes.all():
        row = {
            "variable": True,
            "code": attribute.code,
            "datatype": attribute.datatype,
            "required": attribute.required,
            "datatype_description": attribute.get_datatype_display(),
            "order": attribute.order,
            "description": attribute.description or attribute.name,
        }
        if attribute.datatype in ("singlevaluelist", "multivaluelist"):
            row["values"] = [
                {"key": str(v.get("key")), "name": str(v.get("name"))}
                for v in attribute.values or []
                if isinstance(v, dict)
            ]
        attributes.append(row)
    return {"service_code": category.code, "attributes": attributes}


def agency(case: Case, unit_names: dict[str, str]) -> str | None:
    if case.handler_company_id:
        return case.handler_company.name
    return unit_names.get(case.handler_unit_code) or None


def request(case: Case, *, unit_names: dict[str, str], notes: dict[int, str]) -> dict:
    private = is_private(case.category)
    building = case.building
    return {
        "service_request_id": case.code,
        "status": STATUS_OPEN_CLOSED[case.status],
        "status_notes": None if private else scrub(notes.get(case.pk)) or None,
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": None if private else scrub(case.description),
        "agency_responsible": agency(case, unit_names),
        "service_notice": service_notice(case.category),
        "requested_datetime": iso(case.reported_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(case.due_at),
        "address": None
        if private
        else (case.address or (building.address if building else "")) or None,
        "address_id": None if private or building is None else building.code,
        "zipcode": ZIPCODE,
        "lat": None if private or case.lat is None else round(case.lat, 6),
        "long": None if private or case.lng is None else round(case.lng, 6),
        "media_url": None if private else case.media_url or None,
    }


def extended_status(event: CaseEvent) -> str:
    if event.action == UPDATE_ACTION:
        return EXTENDED_OF_STATUS.get(event.to_status, "OPEN")
    if event.action == Action.DISPATCH and event.from_status in (
        Status.DISPATCHED,
        Status.ACCEPTED,
    ):
        return "INTERNAL_REFERRAL"
    return EXTENDED_OF_ACTION.get(event.action, EXTENDED_OF_STATUS.get(event.to_status, "OPEN"))


def update(event: CaseEvent) -> dict:
    private = is_private(event.case.category)
    note = (event.note or "").strip()
    if private or not note:
        note = str(event.action_label) if event.action != UPDATE_ACTION else _("处理进展")
    media = (event.data or {}).get("media_url") if not private else None
    return {
        "update_id": str(event.pk),
        "service_request_id": event.case.code,
        "status": extended_status(event),
        "updated_datetime": iso(event.at),
        "description": scrub(note),
        "media_url": media or None,
    }
