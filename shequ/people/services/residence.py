"""Where people live: moves in and out (history kept), house links, households."""

from datetime import date

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.accounts.models import User
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.scoping import has_perm, require_perm
from shequ.geo.models import House
from shequ.people import permissions as P
from shequ.people.choices import (
    HouseholdKind,
    HouseRelation,
    LinkStatus,
    PersonStatus,
    RelationToHead,
)
from shequ.people.models import (
    Household,
    HouseLink,
    Person,
)
from shequ.people.services.common import (
    _stale,
    _today,
    _user,
    grid_region,
)


def _check_house_scope(actor: User, house: House) -> None:
    if not has_perm(actor, P.MOVE, house.region_code):
        raise PermissionDeniedError(
            _("该房屋不在您的管辖范围内，不能迁入。"), code="house_out_of_scope"
        )


def person_move_in(
    *,
    actor: User,
    person: Person,
    house: House,
    relation: str = HouseRelation.FAMILY,
    start_date: date | None = None,
    is_household_consistent: bool = True,
    is_registered: bool = False,
    request: HttpRequest | None = None,
) -> HouseLink:
    """Move a person into a house: end the current link (迁出) and start a new one (迁入).

    History is kept: the old link row stays with its end date. The person's region code
    follows the house, so scoping follows the move."""
    require_perm(actor, P.MOVE, person.region_code)
    _check_house_scope(actor, house)
    if relation not in HouseRelation.values:
        raise InvalidInput(_("与房屋关系无效。"), code="invalid_relation")
    start = start_date or _today()
    if start > _today():
        raise InvalidInput(_("迁入日期不能晚于今天。"), code="invalid_date")
    if person.house_id == house.pk:
        raise ConflictError(_("该居民已住在这套房屋。"), code="already_there")
    with transaction.atomic():
        current = HouseLink.objects.filter(person=person, status=LinkStatus.MOVED_IN).first()
        if current is not None:
            if current.start_date and start < current.start_date:
                raise InvalidInput(
                    _("迁入日期早于原住址的迁入日期（%(d)s）。") % {"d": current.start_date},
                    code="invalid_date",
                )
            _end_link(current, start)
        pending = HouseLink.objects.filter(
            person=person, house=house, status=LinkStatus.PENDING
        ).first()
        now = timezone.now()
        # Compare-and-set: `house_id=None` matches IS NULL (a person with no house yet); the
        # stubs' lookup type leaves None out.
        rows = Person.objects.filter(pk=person.pk, house_id=person.house_id).update(  # type: ignore[misc]
            house=house, region_code=house.region_code, updated_at=now
        )
        if rows != 1:
            raise _stale()
        old_region = person.region_code
        person.house, person.region_code, person.updated_at = house, house.region_code, now
        if pending is not None:
            rows = HouseLink.objects.filter(pk=pending.pk, status=LinkStatus.PENDING).update(
                status=LinkStatus.MOVED_IN,
                start_date=start,
                relation=relation,
                is_household_consistent=is_household_consistent,
                is_registered=is_registered,
            )
            if rows != 1:
                raise _stale()
            link = HouseLink.objects.get(pk=pending.pk)
        else:
            link = HouseLink.objects.create(
                person=person,
                house=house,
                region_code=house.region_code,
                relation=relation,
                status=LinkStatus.MOVED_IN,
                start_date=start,
                is_household_consistent=is_household_consistent,
                is_registered=is_registered,
                created_by=_user(actor),
            )
        audit_record(
            actor=actor,
            action="people.move_in",
            obj=person,
            request=request,
            details={
                "house": house.code,
                "from_region": old_region,
                "to_region": house.region_code,
                "relation": relation,
            },
        )
    return link


def _end_link(link: HouseLink, end: date) -> None:
    rows = HouseLink.objects.filter(pk=link.pk, status=link.status).update(
        status=LinkStatus.MOVED_OUT, end_date=end, ended_at=timezone.now()
    )
    if rows != 1:
        raise _stale()


def person_move_out(
    *,
    actor: User,
    person: Person,
    end_date: date | None = None,
    left_city: bool = False,
    request: HttpRequest | None = None,
) -> HouseLink:
    """Move a person out of their current house (迁出). The person keeps their last grid for
    scoping; `left_city` marks them as no longer living here (已迁离)."""
    require_perm(actor, P.MOVE, person.region_code)
    end = end_date or _today()
    if end > _today():
        raise InvalidInput(_("迁出日期不能晚于今天。"), code="invalid_date")
    with transaction.atomic():
        current = HouseLink.objects.filter(person=person, status=LinkStatus.MOVED_IN).first()
        if current is None:
            raise ConflictError(_("该居民当前没有居住房屋。"), code="not_living_anywhere")
        if current.start_date and end < current.start_date:
            raise InvalidInput(_("迁出日期早于迁入日期。"), code="invalid_date")
        _end_link(current, end)
        status = PersonStatus.LEFT if left_city else person.status
        rows = Person.objects.filter(pk=person.pk, house_id=current.house_id).update(
            house=None, status=status, updated_at=timezone.now()
        )
        if rows != 1:
            raise _stale()
        person.house, person.status = None, status
        audit_record(
            actor=actor,
            action="people.move_out",
            obj=person,
            request=request,
            details={"house": current.house.code, "left_city": left_city},
        )
    current.refresh_from_db()
    return current


def house_link_add(
    *,
    actor: User,
    person: Person,
    house: House,
    relation: str = HouseRelation.OWNER,
    is_registered: bool = False,
    request: HttpRequest | None = None,
) -> HouseLink:
    """Record a relation to a house the person does not live in (e.g. 产权人, 未迁入)."""
    require_perm(actor, P.MOVE, person.region_code)
    _check_house_scope(actor, house)
    with transaction.atomic():
        try:
            with transaction.atomic():
                link = HouseLink.objects.create(
                    person=person,
                    house=house,
                    region_code=house.region_code,
                    relation=relation,
                    status=LinkStatus.PENDING,
                    is_household_consistent=False,
                    is_registered=is_registered,
                    created_by=_user(actor),
                )
        except IntegrityError as exc:
            raise ConflictError(_("已有该房屋的关联记录。"), code="link_exists") from exc
        audit_record(
            actor=actor,
            action="people.house_link_add",
            obj=person,
            request=request,
            details={"house": house.code, "relation": relation},
        )
    return link


def household_number_for(region_code: str) -> str:
    """A new 户号: the grid code and a sequence inside it."""
    prefix = region_code + "H"
    last = (
        Household.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{seq:05d}"


def household_create(
    *,
    actor: User,
    house: House | None = None,
    grid_code: str = "",
    number: str = "",
    kind: str = HouseholdKind.FAMILY,
    request: HttpRequest | None = None,
) -> Household:
    region_code = house.region_code if house else grid_region(grid_code).code
    require_perm(actor, P.CHANGE, region_code)
    number = (number or "").strip() or household_number_for(region_code)
    with transaction.atomic():
        try:
            with transaction.atomic():
                household = Household.objects.create(
                    number=number[:30], kind=kind, house=house, region_code=region_code
                )
        except IntegrityError as exc:
            raise ConflictError(
                _("户号 %(n)s 已存在。") % {"n": number}, code="household_number_taken"
            ) from exc
        audit_record(actor=actor, action="people.household_create", obj=household, request=request)
    return household


def person_set_household(
    *,
    actor: User,
    person: Person,
    household: Household | None,
    relation_to_head: str,
    request: HttpRequest | None = None,
) -> None:
    """Put a person into a household (or take them out) with their relation to the head."""
    require_perm(actor, P.CHANGE, person.region_code)
    if household is not None:
        require_perm(actor, P.CHANGE, household.region_code)
        if relation_to_head not in RelationToHead.values:
            raise InvalidInput(_("请选择与户主关系。"), code="invalid_relation")
    else:
        relation_to_head = ""
    with transaction.atomic():
        try:
            with transaction.atomic():
                # Compare-and-set (`household_id=None` matches IS NULL; the stubs leave None out).
                rows = Person.objects.filter(  # type: ignore[misc]
                    pk=person.pk, household_id=person.household_id
                ).update(
                    household=household,
                    relation_to_head=relation_to_head,
                    updated_at=timezone.now(),
                )
        except IntegrityError as exc:
            raise ConflictError(_("该户已有户主。"), code="household_head_taken") from exc
        if rows != 1:
            raise _stale()
        person.household, person.relation_to_head = household, relation_to_head
        audit_record(
            actor=actor,
            action="people.household_set",
            obj=person,
            request=request,
            details={
                "household": household.number if household else "",
                "relation": relation_to_head,
            },
        )
