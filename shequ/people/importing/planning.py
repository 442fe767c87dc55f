"""The plan of an import: exactly what writing the validated rows will do, computed once for the
dry run (预览) and the real import alike — so the preview's counts and warnings are the
import's. The writer only carries the plan out.

The summary counts, per entity:

- 居民 person: created; updated (a field, the house, the household or a new tag changes);
  unchanged.
- 户 household: created; updated (an existing household gains or loses a member, or moves
  with its head); unchanged (an existing household of the file's people that stays as it is).
- 小区 estate, 楼栋 building, 房屋 house: created; unchanged (existing ones the rows name).
- 人房关联 house_link: created; updated = the old links that end (moves).
- 标签 tag: created; unchanged (the person already has it).
"""

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core.crypto import hash_for
from shequ.geo.models import Building, Estate, House
from shequ.people.choices import LinkStatus, PersonStatus, RelationToHead
from shequ.people.importing.checking import Outcome, Row, Validator
from shequ.people.models import Household, HouseLink, Person, PersonTag

BATCH = 500
ENTITIES = {
    "person": gettext_lazy("居民"),
    "household": gettext_lazy("户"),
    "estate": gettext_lazy("小区/自然村"),
    "building": gettext_lazy("楼栋"),
    "house": gettext_lazy("房屋"),
    "house_link": gettext_lazy("人房关联"),
    "tag": gettext_lazy("标签"),
}


def empty_summary() -> dict:
    return {key: {"created": 0, "updated": 0, "unchanged": 0} for key in ENTITIES}


@dataclass
class Plan:
    rows: list[Row]
    estates: list[Estate]
    buildings: list[Building]
    houses: list[House]
    households: list[Household]
    households_moved: list[Household]
    new_people: list[Person] = field(default_factory=list)
    changed_people: list[Person] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    movers: list[int] = field(default_factory=list)  # people whose current house link ends
    new_links: list[HouseLink] = field(default_factory=list)
    new_tags: list[PersonTag] = field(default_factory=list)
    summary: dict = field(default_factory=empty_summary)
    new_places: dict = field(default_factory=dict)


def plan_import(validator: Validator, rows: list[Row], outcome: Outcome) -> Plan:
    """Work out every change the rows ask for (nothing is written) and put the counts into
    `outcome.summary`."""
    now = timezone.now()
    today = timezone.localdate()
    actor = validator.actor if getattr(validator.actor, "is_authenticated", False) else None
    created = validator.places.created
    plan = Plan(
        rows=rows,
        estates=created.estates,
        buildings=created.buildings,
        houses=created.houses,
        households=validator.households.created,
        households_moved=validator.households.moved,
    )
    summary = plan.summary
    people = summary["person"]
    existing = [r.existing for r in rows if r.existing is not None]
    households_before = {p.pk: p.household_id for p in existing}
    open_tags = _open_tags([p.pk for p in existing])
    movers: list[int] = []
    for row in rows:
        spot = row.place
        house = spot.house
        region_code = house.region_code if house is not None else spot.grid.code
        person = row.existing
        if person is None:
            person = Person(created_at=now, updated_at=now, status=PersonStatus.ACTIVE)
            _fill(person, row)
            person.region_code, person.house = region_code, house
            plan.new_people.append(person)
            row.existing = person
            people["created"] += 1
            if house is not None:
                plan.new_links.append(_link(person, row, house, actor, now, today))
            plan.new_tags += [_tag(person, t, d, actor, now, today) for t, d in row.tags]
            summary["tag"]["created"] += len(row.tags)
            continue
        changed = _fill(person, row)
        if house is not None and (house.pk is None or person.house_id != house.pk):
            movers.append(person.pk)
            person.house, person.region_code = house, region_code
            changed |= {"house", "region_code"}
            plan.new_links.append(_link(person, row, house, actor, now, today))
        elif house is None and person.house_id is None and person.region_code != region_code:
            person.region_code = region_code
            changed.add("region_code")
        if person.status != PersonStatus.ACTIVE:
            person.status = PersonStatus.ACTIVE
            changed.add("status")
        if changed:
            person.updated_at = now
            plan.changed_people.append(person)
            plan.changed_fields |= changed | {"updated_at"}
        have = open_tags.get(person.pk, set())
        new_tags = [(t, d) for t, d in row.tags if t.pk not in have]
        plan.new_tags += [_tag(person, t, d, actor, now, today) for t, d in new_tags]
        summary["tag"]["created"] += len(new_tags)
        summary["tag"]["unchanged"] += len(row.tags) - len(new_tags)
        people["updated" if changed or new_tags else "unchanged"] += 1
    plan.movers = movers
    summary["house_link"]["created"] = len(plan.new_links)
    summary["house_link"]["updated"] = _open_links(movers)
    _count_households(plan, rows, households_before)
    _count_places(plan, rows)
    plan.new_places = created.names()
    outcome.summary = summary
    outcome.new_places = plan.new_places
    return plan


def _count_households(plan: Plan, rows: list[Row], before: dict[int, int | None]) -> None:
    counts = plan.summary["household"]
    counts["created"] = len(plan.households)
    changed: set[int] = {h.pk for h in plan.households_moved}
    final: set[int] = set()
    for row in rows:
        household = row.household
        assert row.existing is not None  # plan_import gave every row its person
        old = before.get(row.existing.pk)
        if household is None:
            if old:
                final.add(old)
            continue
        if household.pk is not None:
            final.add(household.pk)
            if old != household.pk:
                changed.add(household.pk)
        if old and old != household.pk:
            changed.add(old)  # a member leaves it
    counts["updated"] = len(changed)
    counts["unchanged"] = len(final - changed)


def _count_places(plan: Plan, rows: list[Row]) -> None:
    summary = plan.summary
    summary["estate"]["created"] = len(plan.estates)
    summary["building"]["created"] = len(plan.buildings)
    summary["house"]["created"] = len(plan.houses)
    estates, buildings, houses = set(), set(), set()
    for row in rows:
        spot = row.place
        if spot.estate is not None and spot.estate.pk:
            estates.add(spot.estate.pk)
        if spot.building is not None and spot.building.pk:
            buildings.add(spot.building.pk)
        if spot.house is not None and spot.house.pk:
            houses.add(spot.house.pk)
    summary["estate"]["unchanged"] = len(estates)
    summary["building"]["unchanged"] = len(buildings)
    summary["house"]["unchanged"] = len(houses)


def _open_tags(person_ids: list[int]) -> dict[int, set[int]]:
    result: dict[int, set[int]] = {}
    for start in range(0, len(person_ids), BATCH):
        for person_id, tag_type_id in PersonTag.objects.filter(
            person_id__in=person_ids[start : start + BATCH], end_date__isnull=True
        ).values_list("person_id", "tag_type_id"):
            result.setdefault(person_id, set()).add(tag_type_id)
    return result


def _open_links(person_ids: list[int]) -> int:
    """How many current house links the moves end (the writer checks it ends exactly these)."""
    total = 0
    for start in range(0, len(person_ids), BATCH):
        total += HouseLink.objects.filter(
            person_id__in=person_ids[start : start + BATCH], status=LinkStatus.MOVED_IN
        ).count()
    return total


def _link(person, row: Row, house, actor, now, today) -> HouseLink:
    return HouseLink(
        person=person,
        house=house,
        region_code=house.region_code,
        relation=row.house_relation,
        status=LinkStatus.MOVED_IN,
        start_date=row.move_in_date or today,
        is_household_consistent=row.consistent,
        is_registered=row.registered,
        created_by=actor,
        created_at=now,
    )


def _tag(person, tag_type, detail: str, actor, now, today) -> PersonTag:
    return PersonTag(
        person=person,
        tag_type=tag_type,
        detail=detail,
        source=_("Excel 导入"),
        start_date=today,
        created_by=actor,
        created_at=now,
    )


def _fill(person: Person, row: Row) -> set[str]:
    """Copy a row's values onto a person; return the names of changed fields. An existing
    person keeps the values the file leaves empty (or has no column for)."""
    changed: set[str] = set()
    data, new = row.person_data, person.pk is None

    def put(name: str, value) -> None:
        if getattr(person, name) != value:
            setattr(person, name, value)
            changed.add(name)

    identity = data.cleaned_identity()
    put("name", data.name)
    if new or person.id_number != identity.number:
        put("id_number", identity.number)
        put("id_number_hash", hash_for("people.person", "id_number", identity.number))
    put("id_type", identity.id_type)
    put("gender", identity.gender)
    put("birth_date", identity.birth_date)
    for name in ("mobile", "landline", "emergency_contact_phone"):
        value = getattr(data, name)
        if (new or name in row.present) and getattr(person, name) != value:
            put(name, value)
            put(f"{name}_hash", hash_for("people.person", name, value))
    for name in ("ethnicity", "political_status", "registration_type", "emergency_contact_name"):
        if new or name in row.present:
            put(name, getattr(data, name))
    household = row.household
    if household is not None:
        if new or household.pk is None or person.household_id != household.pk:
            person.household = household
            changed.add("household")
        if new or row.relation:
            put("relation_to_head", row.relation or RelationToHead.OTHER)
    return changed
