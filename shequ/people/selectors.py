"""Reads of the resident registry. Every list goes through `core.scoping.scoped`.

Lists page with a keyset cursor and count at most COUNT_CAP rows, so a page costs the same at
1,000,000 people as at 1,000. The order is one an index gives directly, so the database reads
one page and stops: by grid then newest (index region_code, id) for browsing, by name (index
name, id) for a name search — never "filter a range, then sort what it found". A search box value is classified:
an ID number or a phone number is looked up exactly through its keyed hash (never by scanning
ciphertext); anything else is a name prefix on an index (see `core.scoping.prefix_q`).
"""

import base64
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Collate, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.accounts.models import User
from shequ.core.actors import AnyUser
from shequ.core.audit import action_label
from shequ.core.crypto import blind_index_candidates, lookup_hashes
from shequ.core.errors import InvalidInput
from shequ.core.idnumbers import clean as clean_id
from shequ.core.models import AuditEvent
from shequ.core.regions import is_region_code
from shequ.core.scoping import (
    EVERYTHING,
    get_scoped_or_404,
    has_perm,
    prefix_q,
    scope_codes,
    scoped,
)
from shequ.geo.models import Building, House
from shequ.people import permissions as P
from shequ.people.choices import LinkStatus, PersonStatus, RegistrationType, Sensitivity
from shequ.people.models import ID_CONTEXT, Household, HouseLink, Person, PersonTag, TagType
from shequ.people.services import REVEALABLE
from shequ.people.validation import clean_name

PAGE_SIZE = 50
COUNT_CAP = 10_000
ID_LIKE = re.compile(r"^(\d{17}[\dX]|\d{15})$")
OTHER_DOC_LIKE = re.compile(r"^(?=.*\d)(?=.*[A-Z])[A-Z0-9]{5,20}$")
PHONE_LIKE = re.compile(r"^(\+?86)?[\d\-\s()（）]{7,16}$")
LEVEL_PERMS: dict[int, str] = {
    Sensitivity.SENSITIVE: P.VIEW_SENSITIVE_TAGS,
    Sensitivity.RESTRICTED: P.VIEW_RESTRICTED_TAGS,
}


@dataclass
class PeopleFilter:
    q: str = ""
    tag: str = ""
    grid: str = ""
    registration_type: str = ""
    building: int | None = None
    status: str = PersonStatus.ACTIVE

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "PeopleFilter":
        building = params.get("building") or ""
        status = params.get("status", PersonStatus.ACTIVE)
        return cls(
            q=(params.get("q") or "").strip()[:60],
            tag=(params.get("tag") or "").strip()[:40],
            grid=(params.get("grid") or "").strip()[:15],
            registration_type=(params.get("registration_type") or "").strip()[:10],
            building=int(building) if str(building).isdigit() else None,
            status=status if status in (*PersonStatus.values, "all") else PersonStatus.ACTIVE,
        )

    def as_params(self) -> dict[str, Any]:
        params = {
            "q": self.q,
            "tag": self.tag,
            "grid": self.grid,
            "registration_type": self.registration_type,
            "building": self.building or "",
            "status": "" if self.status == PersonStatus.ACTIVE else self.status,
        }
        return {k: v for k, v in params.items() if v}


@dataclass
class PeoplePage:
    rows: list[Person]
    next_cursor: str | None
    count: int
    count_capped: bool
    search_kind: str = ""
    message: str = ""
    filters: PeopleFilter = field(default_factory=PeopleFilter)


def visible_levels(user: AnyUser, region_code: str | None, *, is_self: bool = False) -> set[int]:
    """Tag sensitivity levels `user` may see for a person in `region_code`."""
    levels: set[int] = {Sensitivity.NORMAL}
    if is_self:
        levels.add(Sensitivity.SENSITIVE)  # one's own health/disability data
    for level, perm in LEVEL_PERMS.items():
        if has_perm(user, perm, region_code):
            levels.add(level)
    return levels


def visible_tag_types(user: AnyUser) -> list[TagType]:
    """Tag types the user may filter by (those they can see somewhere)."""
    levels: set[int] = {Sensitivity.NORMAL}
    for level, perm in LEVEL_PERMS.items():
        if has_perm(user, perm):
            levels.add(level)
    return list(TagType.objects.filter(sensitivity__in=levels))


def byte_order(field: str) -> Collate | F:
    """`field` compared byte by byte (code-point order): what a prefix range and the list
    indexes use. SQLite's default collation already is; on PostgreSQL only the "C" collation
    lets a b-tree answer both a prefix range and ORDER BY (a "C.UTF-8" or ICU database default
    does not), so there the expression is `field COLLATE "C"`, with matching expression
    indexes (migration 0005)."""
    if connection.vendor == "postgresql":
        return Collate(field, "C")
    return F(field)


def byte_prefix[M: Model](qs: QuerySet[M], field: str, prefix: str) -> QuerySet[M]:
    """Rows whose `field` starts with `prefix`, as a range on `byte_order(field)`."""
    alias = f"_{field}_bytes"
    return qs.alias(**{alias: byte_order(field)}).filter(
        **{f"{alias}__gte": prefix, f"{alias}__lt": prefix + "\U0010ffff"}
    )


def people_scoped(user: AnyUser, perm: str = P.VIEW) -> QuerySet[Person]:
    """People within the user's scope for `perm` (the scoping helper decides). When the scope
    is one region, the same prefix is repeated as a byte-order range — a hint that lets the
    list's index serve filter and order together on PostgreSQL; it never widens the scope."""
    qs = scoped(Person.objects.all(), user, perm)
    codes = scope_codes(user, perm)
    if connection.vendor == "postgresql" and codes is not EVERYTHING and len(codes) == 1:
        qs = byte_prefix(qs, "region_code", codes[0])
    return qs


def current_tags_q(prefix: str = "") -> Q:
    today = timezone.localdate()
    return Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gte": today})


def classify_query(q: str) -> tuple[str, str]:
    """("id" | "doc" | "phone" | "name" | "", normalised value)."""
    if not q:
        return "", ""
    compact = clean_id(q)
    if ID_LIKE.match(compact):
        return "id", compact
    if PHONE_LIKE.match(q.strip()) and sum(ch.isdigit() for ch in q) >= 7:
        return "phone", q.strip()
    if OTHER_DOC_LIKE.match(compact):
        return "doc", compact
    return "name", clean_name(q)


def _search(qs: QuerySet[Person], q: str) -> tuple[QuerySet[Person], str, str]:
    kind, value = classify_query(q)
    if kind == "":
        return qs, "", ""
    try:
        if kind == "id":
            hashes = lookup_hashes("people.person", "id_number", value)
            return qs.filter(id_number_hash__in=hashes), kind, ""
        if kind == "doc":  # passports and other documents: stored as typed (upper-case)
            hashes = blind_index_candidates(value, context=ID_CONTEXT)
            return qs.filter(id_number_hash__in=hashes), kind, ""
        if kind == "phone":
            try:
                mobile = lookup_hashes("people.person", "mobile", value)
            except InvalidInput:
                mobile = []
            landline = lookup_hashes("people.person", "landline", value)
            return qs.filter(Q(mobile_hash__in=mobile) | Q(landline_hash__in=landline)), kind, ""
    except InvalidInput as exc:
        return qs.none(), kind, exc.message
    return byte_prefix(qs, "name", value), kind, ""


def apply_filters(
    qs: QuerySet[Person], user: AnyUser, filters: PeopleFilter
) -> tuple[QuerySet[Person], str, str]:
    qs, kind, message = _search(qs, filters.q)
    if filters.status and filters.status != "all":
        qs = qs.filter(status=filters.status)
    if filters.grid and is_region_code(filters.grid):
        qs = byte_prefix(qs, "region_code", filters.grid)
    if filters.registration_type in RegistrationType.values:
        qs = qs.filter(registration_type=filters.registration_type)
    if filters.building:
        qs = qs.filter(house__building_id=filters.building)
    if filters.tag:
        tag_type = TagType.objects.filter(code=filters.tag).first()
        if tag_type is None:
            return qs.none(), kind, _("没有这个标签。")
        perm = LEVEL_PERMS.get(tag_type.sensitivity)
        if perm:
            # Filtering by a sensitive tag reveals it: only where the user may see it.
            qs = scoped(qs, user, perm)
        qs = qs.filter(
            Exists(
                PersonTag.objects.filter(person=OuterRef("pk"), tag_type=tag_type).filter(
                    current_tags_q()
                )
            )
        )
    return qs, kind, message


def attach_visible_tags(user: AnyUser, people: list[Person]) -> None:
    """Set `person.visible_tags` (current tags the user may see) with one query."""
    tags: defaultdict[int, list[PersonTag]] = defaultdict(list)
    if people:
        for tag in (
            PersonTag.objects.filter(person__in=[p.pk for p in people])
            .filter(current_tags_q())
            .select_related("tag_type")
            .order_by("tag_type__order")
        ):
            tags[tag.person_id].append(tag)
    for person in people:
        levels = visible_levels(user, person.region_code, is_self=person.user_id == user.pk)
        person.visible_tags = [t for t in tags[person.pk] if t.tag_type.sensitivity in levels]


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the sort key of its last row. Opaque text in URLs ("r.<b64>.<id>")."""

    order: str  # "region" (region_code desc, id desc) | "name" (name, id) | "id" (id desc)
    key: str
    id: int

    ORDER_NAMES = ("region", "name", "id")

    @staticmethod
    def ordering(order: str) -> list[Any]:
        if order == "region":
            return [byte_order("region_code").desc(), F("id").desc()]
        if order == "name":
            return [byte_order("name").asc(), F("id").asc()]
        return [F("id").desc()]

    def encode(self) -> str:
        key = base64.urlsafe_b64encode(self.key.encode()).decode().rstrip("=")
        return f"{self.order[0]}.{key}.{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> "Cursor | None":
        order, _dot, rest = (text or "").partition(".")
        key, _dot, pk = rest.rpartition(".")
        orders = {name[0]: name for name in cls.ORDER_NAMES}
        if order not in orders or not pk.isdigit():
            return None
        try:
            key = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
        except ValueError:
            return None
        return cls(orders[order], key, int(pk))

    @classmethod
    def after(cls, person: Person, order: str) -> "Cursor":
        key = {"region": person.region_code, "name": person.name, "id": ""}[order]
        return cls(order, key, person.pk)

    def filter(self, qs: QuerySet[Person]) -> QuerySet[Person]:
        """Rows after this cursor, written as an index range plus a small exclusion."""
        if self.order == "region":
            return (
                qs.alias(_region_bytes=byte_order("region_code"))
                .filter(_region_bytes__lte=self.key)
                .exclude(region_code=self.key, id__gte=self.id)
            )
        if self.order == "name":
            return (
                qs.alias(_name_bytes=byte_order("name"))
                .filter(_name_bytes__gte=self.key)
                .exclude(name=self.key, id__lte=self.id)
            )
        return qs.filter(id__lt=self.id)


def page_order(kind: str) -> str:
    """The order for a search kind: by name for a name search, newest first for an exact match
    (a handful of rows), by grid then newest otherwise."""
    return {"name": "name", "id": "id", "doc": "id", "phone": "id"}.get(kind, "region")


def iter_people(qs: QuerySet[Person], order: str, chunk: int = 2000) -> Iterator[list[Person]]:
    """Every row of `qs` in index order, a chunk at a time (exports)."""
    cursor = None
    while True:
        page = qs.order_by(*Cursor.ordering(order))
        if cursor is not None:
            page = cursor.filter(page)
        rows = list(page[:chunk])
        if not rows:
            return
        yield rows
        cursor = Cursor.after(rows[-1], order)


def people_page(
    user: AnyUser, filters: PeopleFilter, *, after: str | None = None, limit: int = PAGE_SIZE
) -> PeoplePage:
    """One page of the people list: keyset pagination, capped count, tags attached."""
    qs, kind, message = apply_filters(people_scoped(user), user, filters)
    count = qs.order_by()[: COUNT_CAP + 1].count()
    order = page_order(kind)
    page_qs = qs.select_related("house__building").order_by(*Cursor.ordering(order))
    cursor = Cursor.decode(after)
    if cursor is not None and cursor.order == order:
        page_qs = cursor.filter(page_qs)
    rows = list(page_qs[: limit + 1])
    next_cursor = Cursor.after(rows[limit - 1], order).encode() if len(rows) > limit else None
    rows = rows[:limit]
    attach_visible_tags(user, rows)
    return PeoplePage(
        rows=rows,
        next_cursor=next_cursor,
        count=min(count, COUNT_CAP),
        count_capped=count > COUNT_CAP,
        search_kind=kind,
        message=message,
        filters=filters,
    )


def person_for_user(user: User, pk: int | str) -> Person:
    """A person the user may open (in scope, or their own record) — else 404."""
    qs = Person.objects.select_related("house__building__estate", "household", "user")
    if has_perm(user, P.VIEW):
        person = scoped(qs, user, P.VIEW).filter(pk=pk).first()
        if person is not None:
            return person
    return get_scoped_or_404(qs.filter(user=user.pk), user, P.VIEW_SELF, owner_field="user", pk=pk)


def own_person(user: AnyUser | None) -> Person | None:
    if user is None or not user.is_authenticated:
        return None
    return Person.objects.select_related("house__building", "household").filter(user=user).first()


def person_detail(user: AnyUser, person: Person) -> dict[str, Any]:
    """Everything the detail page shows, filtered by what the user may see."""
    is_self = person.user_id == user.pk
    levels = visible_levels(user, person.region_code, is_self=is_self)
    links = list(
        person.house_links.select_related("house__building").order_by("-start_date", "-id")
    )
    tags = [
        t
        for t in person.tags.select_related("tag_type").order_by("end_date", "tag_type__order")
        if t.tag_type.sensitivity in levels
    ]
    members: list[Person] = []
    if person.household is not None:
        members = list(
            person.household.members.exclude(pk=person.pk).order_by("relation_to_head", "id")
        )
    history = list(
        AuditEvent.objects.filter(object_type="people.person", object_id=str(person.pk))
        .exclude(action="people.reveal")
        .order_by("-at", "-id")[:50]
    )
    for event in history:
        event.label = action_label(event.action)
    reveals: list[AuditEvent] = []
    if has_perm(user, P.VIEW_REVEAL_AUDIT, person.region_code):
        reveals = list(
            AuditEvent.objects.filter(
                object_type="people.person", object_id=str(person.pk), action="people.reveal"
            ).order_by("-at", "-id")[:100]
        )
        for event in reveals:
            event.field_label = REVEALABLE.get(event.details.get("field"), "")
    return {
        "person": person,
        "is_self": is_self,
        "links": links,
        "tags": tags,
        "current_tags": [t for t in tags if t.is_current],
        "members": members,
        "history": history,
        "reveals": reveals,
        "can_see_reveals": has_perm(user, P.VIEW_REVEAL_AUDIT, person.region_code),
        "can_reveal": has_perm(user, P.REVEAL, person.region_code)
        or (is_self and has_perm(user, P.REVEAL_SELF, owner=person.user_id)),
        "can_change": has_perm(user, P.CHANGE, person.region_code),
        "can_move": has_perm(user, P.MOVE, person.region_code),
        "can_tag": has_perm(user, P.MANAGE_TAGS, person.region_code),
        "tag_types": [t for t in TagType.objects.all() if t.sensitivity in levels],
    }


def building_for_user(user: AnyUser, pk: int | str) -> Building:
    return get_scoped_or_404(Building.objects.select_related("estate", "grid"), user, P.VIEW, pk=pk)


def building_rooms(user: AnyUser, building: Building) -> dict[str, Any]:
    """楼栋户室图: per unit, floors (top first) × rooms, each room with its occupants."""
    houses = list(House.objects.filter(building=building).order_by("unit", "floor", "room"))
    residents: defaultdict[int | None, list[Person]] = defaultdict(list)
    for person in Person.objects.filter(
        house__building=building, status=PersonStatus.ACTIVE
    ).order_by("household_id", "id"):
        residents[person.house_id].append(person)
    owners: defaultdict[int, list[Person]] = defaultdict(list)
    for link in HouseLink.objects.filter(
        house__building=building, relation="owner", status=LinkStatus.PENDING
    ).select_related("person"):
        owners[link.house_id].append(link.person)
    units: dict[int, dict[int | None, list]] = defaultdict(lambda: defaultdict(list))
    for house in houses:
        house.residents = residents.get(house.pk, [])
        house.absent_owners = owners.get(house.pk, [])
        units[house.unit][house.floor].append(house)
    layout = []
    for unit in sorted(units):
        floors = units[unit]
        layout.append(
            {
                "unit": unit,
                "floors": [
                    {"floor": f, "houses": floors[f]}
                    for f in sorted(floors, key=lambda x: -(x if x is not None else 0))
                ],
            }
        )
    occupied = sum(1 for h in houses if h.residents)
    return {
        "building": building,
        "units": layout,
        "houses": len(houses),
        "occupied": occupied,
        "residents": sum(len(v) for v in residents.values()),
    }


def household_for_user(user: AnyUser, pk: int | str) -> Household:
    return get_scoped_or_404(
        Household.objects.select_related("house__building"), user, P.VIEW, pk=pk
    )


def household_members(household: Household) -> list[Person]:
    order = {"head": 0, "spouse": 1, "child": 2, "parent": 3}
    members = list(household.members.select_related("house__building"))
    members.sort(key=lambda p: (order.get(p.relation_to_head, 9), p.birth_date or date.min))
    return members


def houses_for_user(user: AnyUser, perm: str, *, building: int | None = None) -> QuerySet[House]:
    qs = scoped(House.objects.select_related("building"), user, perm)
    if building:
        qs = qs.filter(building_id=building)
    return qs.order_by("unit", "floor", "room")


COUNTS_CACHE_SECONDS = 300


def people_counts_by_prefix(prefix: str, length: int) -> dict[str, int]:
    """Active residents per region code prefix of `length` inside `prefix` (region browser).

    Counting a township or the whole city reads hundreds of thousands of index entries, so
    those counts are cached for five minutes; a community's or grid's are always fresh."""
    if len(prefix) <= 9:
        key = f"people:counts:{prefix}:{length}"
        counts = cache.get_or_set(
            key, lambda: _count_by_prefix(prefix, length), COUNTS_CACHE_SECONDS
        )
        return cast(dict[str, int], counts)  # what the callable returned (the cache is untyped)
    return _count_by_prefix(prefix, length)


def _count_by_prefix(prefix: str, length: int) -> dict[str, int]:
    return dict(
        Person.objects.filter(prefix_q("region_code", prefix), status=PersonStatus.ACTIVE)
        .annotate(prefix=Substr("region_code", 1, length))
        .values("prefix")
        .annotate(n=Count("pk"))
        .values_list("prefix", "n")
    )
