"""Writing to the audit log. Callers pass already-masked representations, never plaintext PII."""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from shequ.core.durable import durable_write
from shequ.core.http import UNKNOWN, client_ip
from shequ.core.models import AuditEvent


def _ip(request) -> str | None:
    address = client_ip(request)
    return None if address == UNKNOWN else address


def audit_record(
    *,
    actor,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    region_code: str = "",
    reason: str = "",
    request=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit event (inside the caller's transaction)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
        region_code = region_code or getattr(obj, "region_code", "") or ""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=getattr(user, "username", "") if user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        object_repr=str(object_repr)[:200],
        region_code=(region_code or settings.SHEQU_CITY_CODE)[:15],
        reason=reason,
        ip=_ip(request),
        details=details or {},
    )


def audit_refusal(**kwargs) -> None:
    """Append the audit row of a refused or failed action (a denied reveal, a wrong code, a
    lockout). Unlike `audit_record`, the row survives the rollback that usually follows the
    refusal (the service raises; the request's transaction is undone): shequ/core/durable.py.
    Takes the arguments of `audit_record`."""
    durable_write(lambda: audit_record(**kwargs))


# Human labels of audit actions ("people.reveal" → "查看完整信息"); apps register theirs.
_action_labels: dict[str, Any] = {"accounts.assignment_grant": _("授予岗位")}


def register_action_labels(labels: dict[str, Any]) -> None:
    _action_labels.update(labels)


def action_label(action: str) -> str:
    return str(_action_labels.get(action, action))


def action_choices() -> list[tuple[str, str]]:
    return sorted(
        ((code, str(label)) for code, label in _action_labels.items()), key=lambda c: c[0]
    )


AUDIT_PAGE_SIZE = 50
AUDIT_COUNT_CAP = 10_000


def audit_search(
    user,
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    region: str = "",
    since=None,
    until=None,
    after: int | None = None,
) -> dict:
    """The audit log as the auditor sees it: inside their scope, newest first, keyset paged."""
    from datetime import datetime, time

    from django.utils import timezone

    from shequ.core.regions import is_region_code
    from shequ.core.scoping import prefix_q, scoped

    qs = scoped(AuditEvent.objects.all(), user, "core.search_audit")
    if actor:
        qs = qs.filter(actor_name=actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if reason:
        qs = qs.filter(reason__icontains=reason)
    if region and is_region_code(region):
        qs = qs.filter(prefix_q("region_code", region))
    tz = timezone.get_current_timezone()
    if since:
        qs = qs.filter(at__gte=datetime.combine(since, time.min, tzinfo=tz))
    if until:
        qs = qs.filter(at__lte=datetime.combine(until, time.max, tzinfo=tz))
    count = qs.order_by()[: AUDIT_COUNT_CAP + 1].count()
    page = qs.order_by("-id")
    if after:
        page = page.filter(id__lt=after)
    rows = list(page[: AUDIT_PAGE_SIZE + 1])
    next_cursor = rows[AUDIT_PAGE_SIZE - 1].pk if len(rows) > AUDIT_PAGE_SIZE else None
    rows = rows[:AUDIT_PAGE_SIZE]
    for event in rows:
        event.label = action_label(event.action)
    return {
        "rows": rows,
        "next_cursor": next_cursor,
        "count": min(count, AUDIT_COUNT_CAP),
        "count_capped": count > AUDIT_COUNT_CAP,
    }
