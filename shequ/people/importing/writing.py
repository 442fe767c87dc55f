"""Writing a validated import in one transaction: the estates, buildings and houses the rows
name, households, people (created, or updated by ID number), house links (a move ends the old
link and starts a new one) and tags — through the bulk path (`people.bulk`) — then one audit
row."""

import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.audit import audit_record
from shequ.core.crypto import hash_for
from shequ.geo.models import Building, Estate, EstateKind, House
from shequ.people import bulk
from shequ.people.choices import LinkStatus, PersonStatus, RelationToHead
from shequ.people.importing.checking import BATCH, Outcome, Row, Validator
from shequ.people.models import Household, HouseLink, ImportJob, Person, PersonTag


class Writer:
    """Writes the rows a Validator accepted (call only when it found no problem)."""

    def __init__(self, validator: Validator):
        self.actor = validator.actor
        self.community = validator.community
        self.households = dict(validator.households)
        self.houses_created = 0

    def write(self, rows: list[Row], outcome: Outcome, *, job: ImportJob | None = None) -> None:
        now = timezone.now()
        today = timezone.localdate()
        actor = self.actor if getattr(self.actor, "is_authenticated", False) else None
        with transaction.atomic():
            houses = self._ensure_houses(rows)
            households = self._ensure_households(rows, houses)
            open_tags = self._open_tags([r.existing.pk for r in rows if r.existing])
            new_people: list[Person] = []
            changed_people: list[Person] = []
            changed_fields: set[str] = set()
            movers: set[int] = set()
            for row in rows:
                house = houses.get(row.place.key) if row.place.has_house else None
                household = households.get(row.household_number)
                region_code = house.region_code if house else row.place.grid.code
                person = row.existing
                if person is None:
                    person = Person(created_at=now, updated_at=now, status=PersonStatus.ACTIVE)
                    _fill(person, row, household)
                    person.region_code, person.house = region_code, house
                    new_people.append(person)
                    row.existing = person
                    outcome.created += 1
                    continue
                changed = _fill(person, row, household)
                if house is not None and person.house_id != house.pk:
                    movers.add(person.pk)
                    person.house, person.region_code = house, region_code
                    changed |= {"house", "region_code"}
                elif (
                    house is None and person.house_id is None and person.region_code != region_code
                ):
                    person.region_code = region_code
                    changed.add("region_code")
                if person.status != PersonStatus.ACTIVE:
                    person.status = PersonStatus.ACTIVE
                    changed.add("status")
                if changed:
                    person.updated_at = now
                    changed_people.append(person)
                    changed_fields |= changed | {"updated_at"}
                new_tag_types = {t.pk for t, _d in row.tags} - open_tags.get(person.pk, set())
                if changed or new_tag_types:
                    outcome.updated += 1
                else:
                    outcome.unchanged += 1
            bulk.insert(Person, new_people)
            if changed_people:
                Person.objects.bulk_update(changed_people, sorted(changed_fields), batch_size=BATCH)
            ids = sorted(movers)
            for start in range(0, len(ids), BATCH):
                HouseLink.objects.filter(
                    person_id__in=ids[start : start + BATCH], status=LinkStatus.MOVED_IN
                ).update(status=LinkStatus.MOVED_OUT, end_date=today, ended_at=now)
            new_ids = {p.pk for p in new_people}
            new_links, new_tags = [], []
            for row in rows:
                person = row.existing
                house = houses.get(row.place.key) if row.place.has_house else None
                if house is not None and (person.pk in new_ids or person.pk in movers):
                    new_links.append(
                        HouseLink(
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
                    )
                have = open_tags.get(person.pk, set())
                new_tags += [
                    PersonTag(
                        person=person,
                        tag_type=tag_type,
                        detail=detail,
                        source=_("Excel 导入"),
                        start_date=today,
                        created_by=actor,
                        created_at=now,
                    )
                    for tag_type, detail in row.tags
                    if tag_type.pk not in have
                ]
            bulk.insert(HouseLink, new_links)
            bulk.insert(PersonTag, new_tags)
            audit_record(
                actor=actor,
                action="people.import",
                object_type="people.importjob",
                object_id=str(job.pk) if job else "",
                object_repr=(job.file_name if job else _("命令行导入"))[:200],
                region_code=self.community.code,
                details={
                    "rows": outcome.total,
                    "created": outcome.created,
                    "updated": outcome.updated,
                    "unchanged": outcome.unchanged,
                    "houses_created": self.houses_created,
                    "links": len(new_links),
                    "tags": len(new_tags),
                },
            )
        outcome.written = True

    @staticmethod
    def _open_tags(person_ids: list[int]) -> dict[int, set[int]]:
        result: dict[int, set[int]] = {}
        for start in range(0, len(person_ids), BATCH):
            for person_id, tag_type_id in PersonTag.objects.filter(
                person_id__in=person_ids[start : start + BATCH], end_date__isnull=True
            ).values_list("person_id", "tag_type_id"):
                result.setdefault(person_id, set()).add(tag_type_id)
        return result

    def _ensure_houses(self, rows: list[Row]) -> dict[tuple, House]:
        """Find or create the estates, buildings and houses the rows name (inside each row's
        grid). New buildings sit at the grid's centre until someone places them."""
        wanted = {r.place.key: r.place for r in rows if r.place.has_house}
        if not wanted:
            return {}
        estates = self._ensure_estates(wanted)
        buildings: dict[tuple[str, str, str], Building] = {}
        for building in Building.objects.filter(
            region_code__startswith=self.community.code
        ).select_related("estate"):
            name = building.estate.name if building.estate_id else ""
            buildings.setdefault((building.region_code, name, building.name), building)
        with_rooms = {
            (p.grid.code, p.estate_name, p.building_name) for p in wanted.values() if p.room
        }
        floors: dict[tuple, int] = {}
        units: dict[tuple, int] = {}
        for p in wanted.values():
            k = (p.grid.code, p.estate_name, p.building_name)
            floors[k] = max(floors.get(k, 1), _floor_of(p.room) or 1)
            units[k] = max(units.get(k, 1), p.unit)
        seq = self._next_codes(Building, 15)
        township = self.community.parent
        new_buildings = []
        for place in wanted.values():
            k = (place.grid.code, place.estate_name, place.building_name)
            if k in buildings:
                continue
            grid = place.grid
            seq[grid.code] = seq.get(grid.code, 0) + 1
            building = Building(
                code=f"{grid.code}{seq[grid.code]:04d}",
                grid=grid,
                region_code=grid.code,
                estate=estates.get((grid.code, place.estate_name)),
                name=place.building_name,
                address=f"丹阳市{township.name}{self.community.name}{place.estate_name}"
                f"{place.building_name}",
                lat=grid.centroid_lat or 32.0,
                lng=grid.centroid_lng or 119.58,
                floors=min(200, floors[k]),
                units=min(50, units[k]),
                is_rural_house=k not in with_rooms,
            )
            buildings[k] = building
            new_buildings.append(building)
        Building.objects.bulk_create(new_buildings, batch_size=BATCH)

        ids = sorted({b.pk for b in buildings.values()})
        existing: dict[tuple[int, int, str], House] = {}
        for start in range(0, len(ids), BATCH):
            for house in House.objects.filter(building_id__in=ids[start : start + BATCH]):
                existing[(house.building_id, house.unit, house.room)] = house
        house_seq = self._next_codes(House, 19)
        houses: dict[tuple, House] = {}
        new_houses = []
        for key, place in wanted.items():
            building = buildings[(place.grid.code, place.estate_name, place.building_name)]
            room = place.room or place.building_name
            house = existing.get((building.pk, place.unit, room))
            if house is None:
                house_seq[building.code] = house_seq.get(building.code, 0) + 1
                house = House(
                    code=f"{building.code}{house_seq[building.code]:04d}",
                    building=building,
                    region_code=building.region_code,
                    unit=place.unit,
                    floor=_floor_of(place.room) if place.room else 1,
                    room=room,
                )
                existing[(building.pk, place.unit, room)] = house
                new_houses.append(house)
            houses[key] = house
        House.objects.bulk_create(new_houses, batch_size=BATCH)
        self.houses_created = len(new_houses)
        return houses

    def _ensure_estates(self, wanted: dict) -> dict[tuple[str, str], Estate]:
        estates = {
            (e.region_code, e.name): e
            for e in Estate.objects.filter(region_code__startswith=self.community.code)
        }
        with_rooms = {(p.grid.code, p.estate_name) for p in wanted.values() if p.room}
        new = []
        for place in wanted.values():
            k = (place.grid.code, place.estate_name)
            if place.estate_name and k not in estates:
                estates[k] = Estate(
                    name=place.estate_name,
                    kind=EstateKind.ESTATE if k in with_rooms else EstateKind.NATURAL_VILLAGE,
                    grid=place.grid,
                    region_code=place.grid.code,
                )
                new.append(estates[k])
        Estate.objects.bulk_create(new, batch_size=BATCH)
        return estates

    def _next_codes(self, model, length: int) -> dict[str, int]:
        """Highest sequence in use per parent code (grid for buildings, building for houses)."""
        result: dict[str, int] = {}
        qs = model.objects.filter(region_code__startswith=self.community.code)
        for code in qs.values_list("code", flat=True).iterator(chunk_size=5000):
            parent, tail = code[:length], code[length:]
            if tail.isdigit():
                result[parent] = max(result.get(parent, 0), int(tail))
        return result

    def _ensure_households(self, rows: list[Row], houses: dict) -> dict[str, Household]:
        new = []
        for row in rows:
            number = row.household_number
            if not number or number in self.households:
                continue
            house = houses.get(row.place.key) if row.place.has_house else None
            household = Household(
                number=number,
                house=house,
                region_code=house.region_code if house else row.place.grid.code,
            )
            self.households[number] = household
            new.append(household)
        bulk.insert(Household, new)
        return self.households


def _floor_of(room: str) -> int | None:
    """ "1203" → 12, "301" → 3; None when the room number does not say."""
    digits = re.sub(r"\D", "", room or "")
    if len(digits) >= 3:
        floor = int(digits[:-2])
        return floor if 1 <= floor <= 200 else None
    return None


def _fill(person: Person, row: Row, household: Household | None) -> set[str]:
    """Copy a row's values onto a person; return the names of changed fields. An existing
    person keeps the values the file leaves empty (or has no column for)."""
    changed: set[str] = set()
    data, new = row.data, person.pk is None

    def put(name: str, value) -> None:
        if getattr(person, name) != value:
            setattr(person, name, value)
            changed.add(name)

    identity = data.identity
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
    if household is not None:
        if new or person.household_id != household.pk:
            person.household = household
            changed.add("household")
        if new or "relation_to_head" in row.present:
            put("relation_to_head", data.relation_to_head or RelationToHead.OTHER)
    return changed
