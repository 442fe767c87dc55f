"""Account services: users, assignments, API tokens, elder mode."""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.accounts.models import MOBILE_CONTEXT, ApiToken, Assignment, User
from shequ.core.actors import Actor, AnyUser
from shequ.core.audit import audit_record
from shequ.core.crypto import blind_index, blind_index_candidates
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.phones import normalize_mobile
from shequ.core.regions import Level
from shequ.core.roles import REGION_ROLES, Role
from shequ.core.scoping import forget_assignments, user_roles

TOKEN_PREFIX = "sq_"

# Which region level each region role works at (residents live in a grid).
ROLE_LEVELS = {
    Role.RESIDENT: {Level.GRID},
    Role.GRID_WORKER: {Level.GRID},
    Role.COMMUNITY_STAFF: {Level.COMMUNITY},
    Role.TOWNSHIP_OFFICER: {Level.TOWNSHIP},
    Role.CITY_OPERATOR: {Level.CITY},
    Role.AUDITOR: {Level.CITY, Level.TOWNSHIP, Level.COMMUNITY},
}


# Roles that may open the Django admin (configuration: categories, stores, companies …). Grid
# workers and property staff work in the scoped pages only (issue 21.5); so do partner
# contacts, auditors and residents.
ADMIN_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.TOWNSHIP_OFFICER, Role.CITY_OPERATOR})


def may_use_admin(user: AnyUser | None) -> bool:
    """Whether `user` may open the Django admin: superusers, and holders of an admin role."""
    if user is None or not (user.is_active and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    return bool(user.is_staff) and bool(user_roles(user) & ADMIN_ROLES)


def user_sync_admin_access(*, user: User) -> None:
    """Set `is_staff` from the user's active assignments (an admin role → True, else False)."""
    if user.is_superuser:
        return
    wanted = Assignment.objects.filter(user=user, is_active=True, role__in=ADMIN_ROLES).exists()
    if user.is_staff != wanted:
        user.is_staff = wanted
        user.save(update_fields=["is_staff"])


def mobile_lookup_hashes(mobile: str) -> list[str]:
    return blind_index_candidates(normalize_mobile(mobile), context=MOBILE_CONTEXT)


def user_find_by_mobile(mobile: str) -> User | None:
    try:
        hashes = mobile_lookup_hashes(mobile)
    except InvalidInput:
        return None
    return User.objects.filter(mobile_hash__in=hashes).first()


def user_set_mobile(*, user: User, mobile: str | None) -> None:
    """Set (or clear) a user's mobile number: ciphertext plus keyed hash, unique per user."""
    if not mobile:
        user.mobile, user.mobile_hash = "", None
    else:
        number = normalize_mobile(mobile)
        hashes = blind_index_candidates(number, context=MOBILE_CONTEXT)
        if User.objects.filter(mobile_hash__in=hashes).exclude(pk=user.pk).exists():
            raise ConflictError(_("该手机号码已被其他账号使用。"), code="mobile_taken")
        user.mobile = number
        user.mobile_hash = blind_index(number, context=MOBILE_CONTEXT)
    if user.pk:
        user.save(update_fields=["mobile", "mobile_hash"])


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    full_name: str = "",
    mobile: str | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    if User.objects.filter(username__iexact=username).exists():
        raise ConflictError(
            _("用户名 %(name)s 已存在。") % {"name": username}, code="username_taken"
        )
    user = User(
        username=username,
        full_name=full_name,
        is_staff=is_staff or is_superuser,
        is_superuser=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user_set_mobile(user=user, mobile=mobile)
    user.save()
    return user


# Regions and property companies are typed Any here: geo and property sit beside accounts
# (docs/architecture.md, Floors), which does not import them; the models name them by label.
def assignment_problem(
    *, role: str, region: Any = None, property_company: Any = None
) -> str | None:
    """Why this (role, scope) is not a valid assignment, or None."""
    role = Role(role)
    if role in REGION_ROLES:
        if region is None:
            return _("该角色需要指定负责区域。")
        if region.level not in ROLE_LEVELS[role]:
            return _("%(role)s 的负责区域层级不正确。") % {"role": role.label}
        if property_company is not None:
            return _("该角色不能指定物业公司。")
    elif role == Role.PROPERTY_STAFF and (property_company is None or region is not None):
        return _("物业人员需要指定物业公司（不指定区域）。")
    return None


@transaction.atomic
def assignment_grant(
    *,
    user: User,
    role: str,
    region: Any = None,
    property_company: Any = None,
    actor: Actor = None,
    request: HttpRequest | None = None,
) -> Assignment:
    """Give `user` a role within a scope (audited). Admin roles (ADMIN_ROLES) get admin access;
    grid workers, property staff and the other roles never do."""
    role = Role(role)
    problem = assignment_problem(role=role, region=region, property_company=property_company)
    if problem:
        raise InvalidInput(problem, code="invalid_assignment")
    assignment, created = Assignment.objects.get_or_create(
        user=user,
        role=role,
        region=region,
        property_company=property_company,
        defaults={"is_active": True},
    )
    if not created and not assignment.is_active:
        assignment.is_active = True
        assignment.save(update_fields=["is_active"])
    user_sync_admin_access(user=user)
    forget_assignments(user)
    audit_record(
        actor=actor,
        action="accounts.assignment_grant",
        obj=user,
        object_repr=user.username,
        region_code=region.code if region else "",
        request=request,
        details={"role": role.value, "scope": assignment.scope_label},
    )
    return assignment


@transaction.atomic
def assignment_revoke(
    *, assignment: Assignment, actor: Actor = None, request: HttpRequest | None = None
) -> bool:
    """End a role assignment (kept as an inactive row for the record; audited). Returns False
    when it had already ended."""
    if not Assignment.objects.filter(pk=assignment.pk, is_active=True).update(is_active=False):
        return False
    assignment.is_active = False
    user = assignment.user
    user_sync_admin_access(user=user)
    forget_assignments(user)
    audit_record(
        actor=actor,
        action="accounts.assignment_revoke",
        obj=user,
        object_repr=user.username,
        region_code=assignment.scope_code,
        request=request,
        details={"role": assignment.role, "scope": assignment.scope_label},
    )
    return True


def user_set_elder_mode(*, user: User, enabled: bool) -> None:
    user.elder_mode = enabled
    user.save(update_fields=["elder_mode"])


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_issue(*, user: User, name: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """Create a bearer token; the plaintext is returned once and never stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=plaintext[:10],
        key_hash=_hash_token(plaintext),
        expires_at=timezone.now() + timedelta(days=days or settings.SHEQU_API_TOKEN_DAYS),
    )
    return token, plaintext


@transaction.atomic
def api_token_revoke(
    *, token: ApiToken, actor: Actor = None, request: HttpRequest | None = None
) -> bool:
    """Revoke a bearer token (audited); False when it was already revoked."""
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        return False
    audit_record(
        actor=actor,
        action="accounts.token_revoke",
        obj=token.user,
        object_repr=f"{token.user.username} · {token.prefix}",
        request=request,
        details={"token": token.prefix, "name": token.name},
    )
    return True


def api_token_authenticate(plaintext: str) -> User | None:
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_token(plaintext), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# Fields whose change is a security event in itself: the audit row says so.
SECURITY_FIELDS = frozenset({"is_active", "is_staff", "is_superuser", "groups", "password"})


@transaction.atomic
def user_admin_save(
    *,
    user: User,
    actor: AnyUser,
    changed_fields: Iterable[str] = (),
    request: HttpRequest | None = None,
) -> User:
    """Save a user as edited by an operator in the admin (the form has already validated and
    hashed any password), with an audit row naming the changed fields (never their values)."""
    created = user._state.adding
    user.save()
    fields = sorted(changed_fields)
    audit_record(
        actor=actor,
        action="accounts.user_created" if created else "accounts.user_changed",
        obj=user,
        request=request,
        details={"fields": fields, "security": sorted(SECURITY_FIELDS.intersection(fields))},
    )
    return user
