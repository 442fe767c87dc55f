"""Writing to the audit log. Callers pass already-masked representations, never plaintext PII."""

from datetime import datetime, time
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.actors import Actor
from shequ.core.audit_labels import (
    ACTION_LABELS,
    DETAIL_LABELS,
    FIELD_LABELS,
    GROUP_LABELS,
    RETIRED_ACTION_LABELS,
)
from shequ.core.durable import durable_write
from shequ.core.http import client_ip_or_none
from shequ.core.models import AuditEvent
from shequ.core.regions import is_region_code
from shequ.core.scoping import prefix_q, scoped


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    region_code: str = "",
    reason: str = "",
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event (inside the caller's transaction)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
        region_code = region_code or getattr(obj, "region_code", "") or ""
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=getattr(user, "username", "") if user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        object_repr=str(object_repr)[:200],
        region_code=(region_code or settings.SHEQU_CITY_CODE)[:15],
        reason=reason,
        ip=client_ip_or_none(request),
        details=details or {},
    )


def audit_refusal(**kwargs: Any) -> None:
    """Append the audit row of a refused or failed action (a denied reveal, a wrong code, a
    lockout). Unlike `audit_record`, the row survives the rollback that usually follows the
    refusal (the service raises; the request's transaction is undone): shequ/core/durable.py.
    Takes the arguments of `audit_record`."""
    durable_write(lambda: audit_record(**kwargs))


# Human labels of audit actions ("people.reveal" → "查看完整信息"): shequ/core/audit_labels.py,
# plus the ones registered at run time (exports label themselves).
_action_labels: dict[str, Any] = {**RETIRED_ACTION_LABELS, **ACTION_LABELS}


def register_action_labels(labels: dict[str, Any]) -> None:
    _action_labels.update(labels)


def labelled_actions() -> dict[str, str]:
    """Every action with a label: audit_labels.py plus those registered at run time."""
    return {code: str(label) for code, label in _action_labels.items()}


def action_label(action: str) -> str:
    label = _action_labels.get(action)
    if label is None:
        return str(_("其他操作（%(code)s）") % {"code": action})
    return str(label)


def _group_label(app: str) -> str:
    """An app's heading: ours above, else the app's own verbose name."""
    if app in GROUP_LABELS:
        return str(GROUP_LABELS[app])
    try:
        return str(apps.get_app_config(app).verbose_name)
    except LookupError:
        return str(GROUP_LABELS["core"])


def action_group(action: str) -> str:
    """The heading of the app an action belongs to ("points.adjust" → 互融互助积分)."""
    return _group_label(action.split(".", 1)[0])


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every labelled action, grouped by app (the audit filter's optgroups), in label order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, label in _action_labels.items():
        groups.setdefault(code.split(".", 1)[0], []).append((code, str(label)))
    order = list(GROUP_LABELS)
    return [
        (_group_label(app), sorted(groups[app], key=lambda c: c[1]))
        for app in sorted(groups, key=lambda a: (order.index(a) if a in order else len(order), a))
    ]


def _model_field_label(object_type: str, name: str) -> str | None:
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return None
    try:
        return str(model._meta.get_field(name).verbose_name)
    except (FieldDoesNotExist, AttributeError):
        return None


def field_label(name: str, object_type: str = "") -> str:
    """The Chinese name of a field that an event's details mention."""
    label = _model_field_label(object_type, name) if object_type else None
    if label is not None:
        return label
    known = FIELD_LABELS.get(name)
    return str(known) if known is not None else name


def _detail_value(key: str, value, object_type: str) -> str:
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if key in ("field", "fields") and isinstance(value, str):
        return field_label(value, object_type)
    if key == "fields" and isinstance(value, list):
        return "、".join(field_label(str(v), object_type) for v in value)
    if isinstance(value, dict):
        return "；".join(
            f"{field_label(str(k), object_type)}：{_detail_value(str(k), v, object_type)}"
            for k, v in value.items()
        )
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if value is None or value == "":
        return "—"
    return str(value)


def detail_items(event: AuditEvent) -> list[tuple[str, str]]:
    """An event's details as (Chinese heading, readable value) pairs for the audit page."""
    items = []
    for key, value in (event.details or {}).items():
        label = DETAIL_LABELS.get(key)
        heading = str(label) if label is not None else field_label(key, event.object_type)
        items.append((heading, _detail_value(key, value, event.object_type)))
    return items


def object_type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The kinds of audited objects by their Chinese names (the audit filter), grouped by app:
    every model of the project's apps."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for model in apps.get_models():
        app = model._meta.app_label
        if not model.__module__.startswith("shequ."):
            continue
        groups.setdefault(app, []).append((model._meta.label_lower, str(model._meta.verbose_name)))
    order = list(GROUP_LABELS)
    return [
        (_group_label(app), sorted(groups[app], key=lambda c: c[1]))
        for app in sorted(groups, key=lambda a: (order.index(a) if a in order else len(order), a))
    ]


def object_type_label(object_type: str) -> str:
    """ "people.person" → 居民; an export's action name → its label."""
    if not object_type:
        return ""
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        pass
    if object_type in _action_labels:
        return action_label(object_type)
    return object_type


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
        event.group = action_group(event.action)
        event.type_label = object_type_label(event.object_type)
        event.detail_items = detail_items(event)
    return {
        "rows": rows,
        "next_cursor": next_cursor,
        "count": min(count, AUDIT_COUNT_CAP),
        "count_capped": count > AUDIT_COUNT_CAP,
    }
