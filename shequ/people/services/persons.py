"""Registering and editing a person, revealing a number (audited), linking a login."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.accounts.models import User
from shequ.core.audit import audit_record, audit_refusal
from shequ.core.crypto import hash_for
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.scoping import has_perm, require_perm
from shequ.geo.models import House
from shequ.people import permissions as P
from shequ.people.choices import (
    HouseRelation,
    LinkStatus,
)
from shequ.people.models import (
    Household,
    HouseLink,
    Person,
)
from shequ.people.services.common import (
    CHANGEABLE,
    PERSON_FIELDS,
    REVEALABLE,
    _stale,
    _today,
    _user,
    grid_region,
    id_conflict,
    person_by_id_number,
)
from shequ.people.validation import PersonData, clean_person, raise_if_errors


def _apply_identity(person: Person, data: PersonData) -> None:
    identity = data.cleaned_identity()
    person.id_type = identity.id_type
    person.id_number = identity.number
    id_hash = hash_for("people.person", "id_number", identity.number)
    assert id_hash is not None  # a cleaned ID number is never empty
    person.id_number_hash = id_hash
    person.gender = identity.gender
    person.birth_date = identity.birth_date


def _apply_phones(person: Person, data: PersonData, keys: Collection[str]) -> None:
    for name in ("mobile", "landline", "emergency_contact_phone"):
        if name in keys:
            value = getattr(data, name)
            setattr(person, name, value)
            setattr(person, f"{name}_hash", hash_for("people.person", name, value))


def _apply_plain(person: Person, data: PersonData, keys: Collection[str]) -> None:
    for name in (
        "name",
        "ethnicity",
        "political_status",
        "registration_type",
        "relation_to_head",
        "emergency_contact_name",
    ):
        if name in keys:
            setattr(person, name, getattr(data, name))


@dataclass
class Residence:
    """Where a new person lives: a house (preferred) or just a grid."""

    house: House | None = None
    grid_code: str = ""
    relation: str = HouseRelation.FAMILY
    start_date: date | None = None
    is_household_consistent: bool = True
    is_registered: bool = False


def person_create(
    *,
    actor: User,
    fields: dict[str, Any],
    residence: Residence,
    household: Household | None = None,
    request: HttpRequest | None = None,
) -> Person:
    """Register a resident (实有人口登记). `fields` holds raw values (cleaned here)."""
    data = clean_person(fields)
    raise_if_errors(data)
    house = residence.house
    region_code = house.region_code if house else grid_region(residence.grid_code).code
    require_perm(actor, P.ADD, region_code)
    if household is not None:
        require_perm(actor, P.CHANGE, household.region_code)
    with transaction.atomic():
        existing = person_by_id_number(data.cleaned_identity().number)
        if existing is not None:
            raise id_conflict(existing)
        now = timezone.now()
        person = Person(region_code=region_code, house=house, household=household, created_at=now)
        person.updated_at = now
        _apply_identity(person, data)
        _apply_phones(person, data, PERSON_FIELDS)
        _apply_plain(person, data, PERSON_FIELDS)
        if household is None:
            person.relation_to_head = ""
        try:
            with transaction.atomic():
                person.save(force_insert=True)
        except IntegrityError as exc:
            raced = person_by_id_number(data.cleaned_identity().number)
            if raced is not None:
                raise id_conflict(raced) from exc
            raise ConflictError(_("该户已有户主。"), code="household_head_taken") from exc
        if house is not None:
            HouseLink.objects.create(
                person=person,
                house=house,
                region_code=house.region_code,
                relation=residence.relation,
                status=LinkStatus.MOVED_IN,
                start_date=residence.start_date or _today(),
                is_household_consistent=residence.is_household_consistent,
                is_registered=residence.is_registered,
                created_by=_user(actor),
            )
        audit_record(
            actor=actor,
            action="people.person_create",
            obj=person,
            request=request,
            details={"id_number": person.masked_id_number},
        )
    return person


def person_update(
    *, actor: User, person: Person, fields: dict[str, Any], request: HttpRequest | None = None
) -> Person:
    """Edit a person's own fields (not where they live: see person_move_in)."""
    require_perm(actor, P.CHANGE, person.region_code)
    keys = {k for k in fields if k in PERSON_FIELDS}
    if "id_number" in keys:
        fields = {**{"id_type": person.id_type}, **fields}
    data = clean_person(fields, partial=True)
    raise_if_errors(data)
    if "relation_to_head" in keys and data.relation_to_head and person.household_id is None:
        raise InvalidInput(_("未加入任何户，不能设置与户主关系。"), code="no_household")
    before = {name: getattr(person, name) for name in CHANGEABLE}
    with transaction.atomic():
        if "id_number" in keys:
            existing = person_by_id_number(data.cleaned_identity().number)
            if existing is not None and existing.pk != person.pk:
                raise id_conflict(existing)
            _apply_identity(person, data)
        _apply_phones(person, data, keys)
        _apply_plain(person, data, keys)
        changed = sorted(k for k, v in before.items() if getattr(person, k) != v)
        if not changed:
            return person
        old_stamp = person.updated_at
        person.updated_at = timezone.now()
        update = {name: getattr(person, name) for name in _columns(changed)}
        update["updated_at"] = person.updated_at
        try:
            with transaction.atomic():
                rows = Person.objects.filter(pk=person.pk, updated_at=old_stamp).update(**update)
        except IntegrityError as exc:
            raise ConflictError(_("该户已有户主。"), code="household_head_taken") from exc
        if rows != 1:
            raise _stale()
        audit_record(
            actor=actor,
            action="people.person_update",
            obj=person,
            request=request,
            details={"fields": changed},
        )
    return person


def _columns(changed: list[str]) -> list[str]:
    columns = []
    for name in changed:
        columns.append(name)
        if name == "id_number":
            columns += ["id_number_hash", "id_type", "gender", "birth_date"]
        elif name in ("mobile", "landline", "emergency_contact_phone"):
            columns.append(f"{name}_hash")
    return columns


def person_reveal(
    *, actor: User, person: Person, field: str, reason: str, request: HttpRequest | None = None
) -> str:
    """Show one value of one person in full, for a stated reason (audited)."""
    if field not in REVEALABLE:
        raise InvalidInput(_("不能查看该字段。"), code="invalid_field")
    is_self = person.user_id is not None and person.user_id == actor.pk
    allowed = has_perm(actor, P.REVEAL, person.region_code) or (
        is_self and has_perm(actor, P.REVEAL_SELF, owner=person.user_id)
    )
    if not allowed:
        audit_refusal(
            actor=actor,
            action="people.reveal_refused",
            obj=person,
            reason=(reason or "").strip()[:500],
            request=request,
            details={"field": field},
        )
        raise PermissionDeniedError(_("您没有查看完整信息的权限。"), code="forbidden")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise InvalidInput(
            _("请填写查看理由（至少 2 个字），查看记录将写入审计日志。"),
            code="reason_required",
            details={"field": "reason"},
        )
    audit_record(
        actor=actor,
        action="people.reveal",
        obj=person,
        reason=reason[:500],
        request=request,
        details={"field": field, "self": is_self},
    )
    return getattr(person, field) or ""


def person_link_user(
    *, actor: User, person: Person, user: User, request: HttpRequest | None = None
) -> None:
    """Link a login account to the person's record (the resident then sees their own data)."""
    require_perm(actor, P.CHANGE, person.region_code)
    with transaction.atomic():
        if Person.objects.filter(user=user).exclude(pk=person.pk).exists():
            raise ConflictError(_("该账号已关联其他居民。"), code="user_taken")
        Person.objects.filter(pk=person.pk).update(user=user)
        person.user = user
        audit_record(
            actor=actor,
            action="people.link_user",
            obj=person,
            request=request,
            details={"user": user.username},
        )
