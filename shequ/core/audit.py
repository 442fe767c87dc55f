"""Writing to the audit log. Callers pass already-masked representations, never plaintext PII."""

from typing import Any

from django.conf import settings

from shequ.core.models import AuditEvent


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


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
        ip=client_ip(request),
        details=details or {},
    )
