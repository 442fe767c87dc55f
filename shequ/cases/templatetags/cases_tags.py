"""Template helpers for case pages: live SLA colour and "还剩/已超期" texts."""

from django import template
from django.utils import timezone

from shequ.cases import views

register = template.Library()


@register.filter
def sla(case, now=None) -> str:
    """green | yellow | red, computed now (the sweep stores it once a minute)."""
    return case.live_sla_level(now or timezone.now())


@register.filter
def due_text(value, now=None) -> str:
    return views.due_text(value, now)


@register.filter
def photos_for(photos_by_event: dict, event_id):
    return photos_by_event.get(event_id, [])


@register.filter
def attribute_value(values, code):
    """The submitted value(s) of attr_<code> in a re-rendered form."""
    key = f"attr_{code}"
    if hasattr(values, "getlist"):
        return values.getlist(key)
    if isinstance(values, dict):
        value = values.get(key, [])
        return value if isinstance(value, list) else [value]
    return []
