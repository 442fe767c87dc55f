"""Navigation registry: apps register their pages; home pages show only what exists.

The seven pillars of the thesis's smart community platform, plus the grid-management tools.
An entry is shown when the user holds its permission somewhere (or always when perm is None).
"""

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from shequ.core.scoping import has_perm, user_roles

PILLARS: list[tuple[str, Promise]] = [
    ("grid", _("网格治理")),
    ("party", _("智慧党建")),
    ("government", _("政务服务")),
    ("commerce", _("商务服务")),
    ("property", _("物业服务")),
    ("welfare", _("公益服务")),
    ("autonomy", _("自治服务")),
    ("safety", _("平安警务")),
    ("system", _("系统")),
]


@dataclass(frozen=True)
class NavEntry:
    pillar: str
    label: Promise | str
    url_name: str
    perm: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)  # limit to these roles if set
    staff_only: bool = False  # requires Django admin access
    order: int = 100
    icon: str = ""


_entries: list[NavEntry] = []


def register(*entries: NavEntry) -> None:
    for entry in entries:
        if entry.pillar not in dict(PILLARS):
            raise ValueError(f"unknown pillar {entry.pillar!r}")
        if entry not in _entries:
            _entries.append(entry)


def entries_for(user) -> list[dict]:
    """Pillars with the entries this user may open, in display order; empty pillars omitted."""
    roles = user_roles(user)
    visible: dict[str, list[dict]] = {}
    for entry in sorted(_entries, key=lambda e: (e.order, str(e.label))):
        if entry.staff_only and not getattr(user, "is_staff", False):
            continue
        if entry.roles and not (roles & entry.roles) and not user.is_superuser:
            continue
        if entry.perm and not has_perm(user, entry.perm):
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue  # never a dead link
        visible.setdefault(entry.pillar, []).append(
            {"label": entry.label, "url": url, "icon": entry.icon}
        )
    return [
        {"key": key, "label": label, "entries": visible[key]}
        for key, label in PILLARS
        if key in visible
    ]
