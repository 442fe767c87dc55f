"""Roles and what each may do.

Permissions are plain strings "<app>.<action>". Each app grants permissions to roles in its own
`permissions.py` (a module-level GRANTS dict); `collect_grants()` merges them at start-up so the
table has one home per app and no app edits another's grants. Django model permissions used by
the admin ("geo.change_building") are granted the same way.
"""

from collections import defaultdict
from importlib import import_module

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    TOWNSHIP_OFFICER = "township_officer", _("镇/街道干部")
    CITY_OPERATOR = "city_operator", _("市级管理员")
    PROPERTY_STAFF = "property_staff", _("物业人员")
    PARTNER_CONTACT = "partner_contact", _("共建单位联系人")
    AUDITOR = "auditor", _("审计员")


# Roles that work on the territory (their scope is a region); the rest are scoped otherwise.
REGION_ROLES = {
    Role.RESIDENT,
    Role.GRID_WORKER,
    Role.COMMUNITY_STAFF,
    Role.TOWNSHIP_OFFICER,
    Role.CITY_OPERATOR,
    Role.AUDITOR,
}
STAFF_ROLES = {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWNSHIP_OFFICER, Role.CITY_OPERATOR}

# Order used to pick a user's main home page when they hold several roles.
ROLE_PRIORITY = [
    Role.CITY_OPERATOR,
    Role.TOWNSHIP_OFFICER,
    Role.COMMUNITY_STAFF,
    Role.GRID_WORKER,
    Role.AUDITOR,
    Role.PROPERTY_STAFF,
    Role.PARTNER_CONTACT,
    Role.RESIDENT,
]

_grants: dict[str, set[str]] = defaultdict(set)


def collect_grants() -> None:
    """Merge every installed app's `permissions.GRANTS` into the role table."""
    _grants.clear()
    for config in apps.get_app_configs():
        if not config.name.startswith("shequ."):
            continue
        try:
            module = import_module(f"{config.name}.permissions")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.permissions":
                raise
            continue
        for role, perms in module.GRANTS.items():
            _grants[Role(role)].update(perms)


def role_grants(role: str, perm: str) -> bool:
    return perm in _grants.get(role, ())


def roles_with(perm: str) -> set[str]:
    return {role for role, perms in _grants.items() if perm in perms}


def perms_of(role: str) -> frozenset[str]:
    return frozenset(_grants.get(role, ()))
