"""The one scoping helper: every list of scoped records goes through `scoped()`.

A user holds assignments (role, scope). A region scope covers every record whose region code
starts with the scope's code (one indexed `startswith`, the same on SQLite and PostgreSQL); a
property-company scope covers the records of the estates that company manages; residents see
records they own. Objects outside the scope are reported as 404 (`get_scoped_or_404`), so a
grid worker cannot even learn that another grid's record exists.
"""

import contextlib
import enum
from collections.abc import Iterable
from typing import Any, Final, Literal

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from shequ.core.actors import AnyUser
from shequ.core.errors import PermissionDeniedError
from shequ.core.roles import Role, role_grants


class Everything(enum.Enum):
    """The type of EVERYTHING (an enum member, so that `x is EVERYTHING` narrows a type)."""

    EVERYTHING = "everything"


# No restriction: what `scope_codes` and `scope_q` return for superusers.
EVERYTHING: Final = Everything.EVERYTHING


# The attribute of a user object that caches its assignments for the request.
_ASSIGNMENTS_ATTR = "_shequ_assignments"


def user_assignments(user: AnyUser | None) -> list[Any]:
    """The user's active assignments, loaded once per request (cached on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, _ASSIGNMENTS_ATTR, None)
    if cached is None:
        cached = list(
            user.assignments.filter(is_active=True)
            .select_related("region", "property_company")
            .order_by("id")
        )
        setattr(user, _ASSIGNMENTS_ATTR, cached)  # through a lazy request.user to the user
    return cached


def forget_assignments(user: AnyUser) -> None:
    """Drop the cached assignments (after a grant or revoke), also through a lazy request.user."""
    with contextlib.suppress(AttributeError):
        delattr(user, _ASSIGNMENTS_ATTR)


def user_roles(user: AnyUser | None) -> set[str]:
    return {a.role for a in user_assignments(user)}


def _minimal_prefixes(codes: Iterable[str]) -> list[str]:
    """Drop codes already covered by a shorter one ("321181001" covers "321181001002")."""
    result: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(code.startswith(prefix) for prefix in result):
            result.append(code)
    return sorted(result)


def scope_codes(user: AnyUser | None, perm: str) -> list[str] | Literal[Everything.EVERYTHING]:
    """Region-code prefixes within which `user` holds `perm`; EVERYTHING for superusers."""
    if user is not None and user.is_superuser and user.is_active:
        return EVERYTHING
    return _minimal_prefixes(
        a.scope_code
        for a in user_assignments(user)
        if a.scope_code and role_grants(a.role, perm) and a.role != Role.RESIDENT
    )


def resident_codes(user: AnyUser | None, perm: str) -> list[str]:
    """Region codes where `user` lives as a resident holding `perm` (their grids).

    A resident's assignment is not a staff scope (`scope_codes` leaves it out): it names where
    they live, for the few rules that depend on it (following a neighbour's report)."""
    return sorted(
        {
            a.scope_code
            for a in user_assignments(user)
            if a.role == Role.RESIDENT and a.scope_code and role_grants(a.role, perm)
        }
    )


def company_ids(user: AnyUser | None, perm: str) -> list[int]:
    return sorted(
        {
            a.property_company_id
            for a in user_assignments(user)
            if a.property_company_id and role_grants(a.role, perm)
        }
    )


def has_perm(
    user: AnyUser | None,
    perm: str,
    region_code: str | None = None,
    *,
    company_id: int | None = None,
    owner: Any = None,
) -> bool:
    """Does `user` hold `perm` at `region_code` (or for `company_id`, or as the `owner`)?

    Without any target it answers whether the user holds `perm` anywhere.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    for a in user_assignments(user):
        if not role_grants(a.role, perm):
            continue
        if a.role == Role.RESIDENT:
            if owner is not None and owner == user.pk:
                return True
            if region_code is None and company_id is None and owner is None:
                return True
            continue
        if region_code is None and company_id is None and owner is None:
            return True
        if region_code and a.scope_code and region_code.startswith(a.scope_code):
            return True
        if company_id and a.property_company_id == company_id:
            return True
    return False


def require_perm(
    user: AnyUser | None, perm: str, region_code: str | None = None, **kwargs: Any
) -> None:
    """Raise PermissionDeniedError (403) unless `has_perm` holds."""
    if not has_perm(user, perm, region_code, **kwargs):
        raise PermissionDeniedError(_("您没有执行此操作的权限。"), code="forbidden")


def require_page_perm(user: AnyUser | None, perm: str) -> None:
    """Pages and API operations of a permission the user holds nowhere do not exist for them:
    404, so a page's existence is not leaked. The one check before a scoped list or form;
    objects are then looked up with `get_scoped_or_404`."""
    if not has_perm(user, perm):
        raise Http404


def prefix_q(field: str, prefix: str) -> Q:
    """`field` starts with `prefix`, written so that the database can use an index.

    PostgreSQL uses a b-tree (with a pattern operator class under a non-C collation) for
    LIKE 'x%'. SQLite's LIKE is case-insensitive and never uses an ordinary index, so there the
    prefix becomes the equivalent range [prefix, prefix + U+10FFFF), which does (SQLite compares
    text as UTF-8 bytes, which preserves code-point order).
    """
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})
    return Q(**{f"{field}__startswith": prefix})


def scope_q(
    user: AnyUser | None,
    perm: str,
    *,
    field: str = "region_code",
    company_field: str | None = None,
    owner_field: str | None = None,
) -> Q | Literal[Everything.EVERYTHING] | None:
    """A Q object restricting rows to the user's scope for `perm`.

    Returns EVERYTHING when no restriction applies and None when the user sees nothing.
    """
    codes = scope_codes(user, perm)
    if codes is EVERYTHING:
        return EVERYTHING
    q = Q()
    matched = False
    for code in codes:
        q |= prefix_q(field, code)
        matched = True
    if company_field:
        ids = company_ids(user, perm)
        if ids:
            q |= Q(**{f"{company_field}__in": ids})
            matched = True
    if (
        owner_field
        and user is not None
        and any(
            a.role == Role.RESIDENT and role_grants(a.role, perm) for a in user_assignments(user)
        )
    ):
        q |= Q(**{owner_field: user.pk})
        matched = True
    return q if matched else None


def scoped[M: Model](
    qs: QuerySet[M],
    user: AnyUser | None,
    perm: str,
    *,
    field: str = "region_code",
    company_field: str | None = None,
    owner_field: str | None = None,
) -> QuerySet[M]:
    """Restrict `qs` to what `user` may see with `perm`. The one scoping helper."""
    q = scope_q(user, perm, field=field, company_field=company_field, owner_field=owner_field)
    if q is EVERYTHING:
        return qs
    if q is None:
        return qs.none()
    return qs.filter(q)


def get_scoped_or_404[M: Model](
    qs: QuerySet[M],
    user: AnyUser | None,
    perm: str,
    *,
    field: str = "region_code",
    company_field: str | None = None,
    owner_field: str | None = None,
    **lookup: Any,
) -> M:
    """Fetch one object inside the user's scope, or 404 — never 403, which would leak existence."""
    restricted = scoped(
        qs, user, perm, field=field, company_field=company_field, owner_field=owner_field
    )
    try:
        return restricted.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404 from None
