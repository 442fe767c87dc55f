"""Helpers shared by the points services: the acting resident, rules, codes, compare-and-set."""

import secrets
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.actors import AnyUser
from shequ.core.errors import ConflictError, InvalidInput, NotFoundError
from shequ.people.models import Person
from shequ.points import clock
from shequ.points.models import PointsRule


def person_of(user: AnyUser | None) -> Person | None:
    """The resident-registry Person linked to a login, or None.

    A minimal selector of our own: the registry's selectors live on its branch (people app).
    """
    if user is None or not user.is_authenticated:
        return None
    cached: Any = getattr(user, "_points_person", False)  # Person | None once looked up
    if cached is False:
        cached = Person.objects.filter(user=user).first()
        setattr(user, "_points_person", cached)  # noqa: B010 - a cache, not a field of User
    return cached


def require_person(user: AnyUser | None) -> Person:
    person = person_of(user)
    if person is None:
        raise NotFoundError(
            _("您的账号尚未关联居民档案，请联系社区工作人员登记后再参与。"),
            code="no_resident_record",
        )
    return person


@dataclass(frozen=True)
class Rules:
    daily_cap: int = 60
    per_task_cap: int = 50
    adjustment_cap: int = 100
    expiry_enabled: bool = False


DEFAULT_RULES = Rules()


def rules_for(region_code: str) -> Rules:
    """The most specific PointsRule whose region contains `region_code` (else the defaults)."""
    prefixes = [region_code[:n] for n in (15, 12, 9, 6) if len(region_code) >= n]
    rule = (
        PointsRule.objects.filter(region_code__in=prefixes)
        .order_by("-region_code")  # longer codes sort after their prefixes
        .first()
    )
    if rule is None:
        return DEFAULT_RULES
    return Rules(rule.daily_cap, rule.per_task_cap, rule.adjustment_cap, rule.expiry_enabled)


def digits(n: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(n))


def cas(queryset: QuerySet[Any], expected: int = 1, **changes: Any) -> None:
    """Compare-and-set: `queryset` selects the row in its old state; fail unless it matched."""
    if queryset.update(**changes) != expected:
        raise ConflictError(_("数据已被他人修改，请刷新后重试。"), code="stale_state")


def month_start(moment: datetime | None = None) -> datetime:
    local = timezone.localtime(moment or clock.now())
    return timezone.make_aware(datetime.combine(local.date().replace(day=1), time.min))


def day_start(moment: datetime | None = None) -> datetime:
    local = timezone.localtime(moment or clock.now())
    return timezone.make_aware(datetime.combine(local.date(), time.min))


def check_text(
    value: str | None, *, field: str, label: str, max_length: int, required: bool = True
) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(
            _("请填写%(label)s。") % {"label": label}, code="required", details={"field": field}
        )
    if len(text) > max_length:
        raise InvalidInput(
            _("%(label)s不能超过%(n)s个字。") % {"label": label, "n": max_length},
            code="too_long",
            details={"field": field},
        )
    return text


def city_code() -> str:
    return str(settings.SHEQU_CITY_CODE)
