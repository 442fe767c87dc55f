"""Demo residents: households in the demo houses, with realistic names, synthetic ID numbers with
correct check digits, phone numbers from a reserved-looking range (199…), person–house links
with some history, and special-population tags.

`--scale small`: ≈5,000 residents; the flagship community (丹凤社区) is registered in detail and
reproduces the thesis's figures — 8 低保户, 25 困难户, 100 disabled residents. `--scale city`:
1,000,000 residents in 350,000 households, written in chunks through the bulk path
(`people.bulk`; time and peak memory are printed by seed_demo and measured in
benchmarks/bench_people.py).

The demo `resident` account is linked to a person who heads a household in `grid`'s grid.
"""

from collections import Counter
from datetime import date, timedelta
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from shequ.accounts.models import User
from shequ.core.crypto import hash_for
from shequ.core.idnumbers import make_id_number
from shequ.demo import danyang
from shequ.demo.names import person_name, surname
from shequ.demo.seeding import SeedContext
from shequ.geo.models import House
from shequ.people import bulk
from shequ.people.choices import (
    HouseRelation,
    LinkStatus,
    PoliticalStatus,
    RegistrationType,
    RelationToHead,
)
from shequ.people.models import Household, HouseLink, Person, PersonTag, TagType

SEED_ORDER = 30

# (residents, households); None: as many households as the sizes drawn make.
TARGETS: dict[str, tuple[int, int | None]] = {
    "small": (5_000, None),
    "medium": (100_000, 35_000),
    "city": (1_000_000, 350_000),
}
# Residents of the flagship community (registered in detail at small scale only).
FLAGSHIP_SHARE = {"small": 1_800, "medium": None, "city": None}
FLAGSHIP_FIGURES = {"dibao": 8, "hardship": 25, "disability": 100}
CHUNK_HOUSEHOLDS = 4_000
SIZE_WEIGHTS = {1: 14, 2: 30, 3: 28, 4: 16, 5: 8, 6: 4}  # mean ≈ 2.9 persons per household
LOCAL_CODES = ["321181"] * 20 + ["321102", "321111", "321182", "321183", "320402", "320481"]
FLOATING_CODES = [
    "340102",
    "340321",
    "341221",
    "410102",
    "411302",
    "510104",
    "511302",
    "360102",
    "420102",
    "320382",
    "321323",
    "522101",
    "430102",
]
PERMIT_CODES = ["810000", "820000", "830000"]
MINORITIES = ["03", "11", "08", "02", "06", "15", "10", "04"]
DISABILITY = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
GRADES = ["一级", "二级", "三级", "四级"]
RESIDENT_MOBILE = "19900000006"


class Home(NamedTuple):
    """A house as the seeder needs it (model instances for 400,000 houses cost too much)."""

    pk: int
    code: str
    region_code: str


class IdMaker:
    """Unique, valid ID numbers: a counter per (address code, birth date, gender), kept as one
    int → int dict (a million residents); the sequence starts at a pseudo-random even number."""

    def __init__(self):
        self.used: dict[int, int] = {}

    def make(self, address: str, birth: date, male: bool) -> str:
        while True:
            key = (int(address) * 100_000 + birth.toordinal() % 100_000) * 2 + male
            n = self.used.get(key, 0)
            if n >= 480:
                birth += timedelta(days=1)
                continue
            self.used[key] = n + 1
            start = (key * 2_654_435_761 >> 7) % 500 * 2
            return make_id_number(address, birth, (start + 2 * n) % 1000 + (1 if male else 0))


class Generator:
    """Builds households and their members; one instance per seeding run."""

    def __init__(self, ctx: SeedContext):
        self.rng = ctx.rng("people")
        self.today = date(2024, 6, 1)  # fixed: the demo must not change with the calendar
        self.ids = IdMaker()
        self.mobile_seq = self.rng.randrange(90_000_000)
        self.tag_types = {t.code: t for t in TagType.objects.all()}
        self.household_seq: Counter = Counter()
        self.now = timezone.now()
        self.first_household = True
        # Per person of the chunk being written (by id(): unsaved rows are unhashable).
        self.ages: dict[int, int] = {}
        self.household_sizes: dict[int, int] = {}

    def birth(self, age: int) -> date:
        return self.today - timedelta(days=age * 365 + self.rng.randint(0, 364))

    def mobile(self) -> str:
        """Unique 199xxxxxxxx numbers: a counter stepped by a prime (no set of a million)."""
        self.mobile_seq += 7919
        return f"199{self.mobile_seq % 90_000_000 + 10_000_000}"

    def household(
        self, house: Home, size: int, family_name: str | None = None
    ) -> tuple[Household, list[dict]]:
        """One household living in `house` and its members (as dicts, not yet saved)."""
        rng = self.rng
        self.household_seq[house.region_code] += 1
        household = Household(
            number=f"{house.region_code}H{self.household_seq[house.region_code]:05d}",
            house_id=house.pk,
            region_code=house.region_code,
            created_at=self.now,
        )
        kind = rng.random()
        registration = (
            RegistrationType.LOCAL
            if kind < 0.82
            else RegistrationType.FLOATING
            if kind < 0.997
            else RegistrationType.OVERSEAS
        )
        if registration == RegistrationType.LOCAL:
            address = rng.choice(LOCAL_CODES)
        elif registration == RegistrationType.FLOATING:
            address = rng.choice(FLOATING_CODES)
        else:
            address = rng.choice(PERMIT_CODES)
        family_name = family_name or surname(rng)
        head_age = (
            rng.randint(22, 45)
            if registration != RegistrationType.LOCAL
            else min(95, max(22, int(rng.gauss(52, 15))))
        )
        head_male = rng.random() < 0.72
        members = [
            self._member(
                RelationToHead.HEAD, head_age, head_male, family_name, address, registration
            )
        ]
        if size >= 2 and (head_age >= 25 or rng.random() < 0.3):
            spouse_age = max(20, head_age + rng.randint(-5, 4))
            members.append(
                self._member(
                    RelationToHead.SPOUSE,
                    spouse_age,
                    not head_male,
                    surname(rng),
                    address,
                    registration,
                )
            )
        while len(members) < size:
            slot = rng.random()
            if head_age >= 45 and slot < 0.25:
                child_age = max(0, head_age - rng.randint(50, 60))
                members.append(
                    self._member(
                        RelationToHead.GRANDCHILD,
                        child_age,
                        rng.random() < 0.5,
                        family_name,
                        address,
                        registration,
                    )
                )
            elif head_age <= 50 and slot < 0.35:
                members.append(
                    self._member(
                        RelationToHead.PARENT,
                        min(99, head_age + rng.randint(24, 32)),
                        rng.random() < 0.45,
                        surname(rng),
                        address,
                        registration,
                    )
                )
            else:
                child_age = max(0, head_age - rng.randint(23, 34))
                members.append(
                    self._member(
                        RelationToHead.CHILD,
                        child_age,
                        rng.random() < 0.52,
                        family_name,
                        address,
                        registration,
                    )
                )
        return household, members

    def _member(self, relation, age, male, family_name, address, registration) -> dict:
        rng = self.rng
        given = person_name(rng, "M" if male else "F")[1:]
        birth = self.birth(age)
        if (
            registration == RegistrationType.LOCAL
            and relation != RelationToHead.HEAD
            and rng.random() < 0.3
        ):
            address = "321181"
        return {
            "name": family_name + given,
            "id_number": self.ids.make(address, birth, male),
            "birth": birth,
            "age": age,
            "male": male,
            "relation": relation,
            "registration": registration,
            "mobile": self.mobile() if age >= 14 and rng.random() < 0.92 else "",
        }

    def person(self, spec: dict, household: Household) -> Person:
        rng = self.rng
        age = spec["age"]
        if 14 <= age <= 28 and rng.random() < 0.3:
            political = PoliticalStatus.CYL
        elif age >= 18 and rng.random() < 0.08:
            political = PoliticalStatus.CPC
        else:
            political = PoliticalStatus.MASSES
        landline = (
            f"0511-8{rng.randint(1_000_000, 9_999_999)}"
            if spec["relation"] == "head" and rng.random() < 0.1
            else ""
        )
        emergency = spec["relation"] == "head" and age >= 60
        number = spec["id_number"]
        mobile = spec["mobile"]
        id_hash = hash_for("people.person", "id_number", number)
        assert id_hash is not None  # every generated person has an ID number
        person = Person(
            name=spec["name"],
            id_type="hmt_permit" if number[:2] in ("81", "82", "83") else "resident_id",
            id_number=number,
            id_number_hash=id_hash,
            gender="M" if spec["male"] else "F",
            birth_date=spec["birth"],
            ethnicity="01" if rng.random() < 0.985 else rng.choice(MINORITIES),
            political_status=political,
            registration_type=spec["registration"],
            mobile=mobile,
            mobile_hash=hash_for("people.person", "mobile", mobile),
            landline=landline,
            landline_hash=hash_for("people.person", "landline", landline),
            household=household,
            relation_to_head=spec["relation"],
            region_code=household.region_code,
            house_id=household.house_id,
            created_at=self.now,
            updated_at=self.now,
        )
        if emergency:
            phone = self.mobile()
            person.emergency_contact_name = surname(rng) + person_name(rng)[1:]
            person.emergency_contact_phone = phone
            person.emergency_contact_phone_hash = hash_for(
                "people.person", "emergency_contact_phone", phone
            )
        self.ages[id(person)] = age
        return person


def seed(ctx: SeedContext) -> None:
    scale = ctx.scale
    target, households_target = TARGETS[scale]
    gen = Generator(ctx)
    rng = gen.rng
    codes: dict[str, str] = {}
    houses = [
        Home(pk, code, codes.setdefault(region, region))
        for pk, code, region in House.objects.order_by("code")
        .values_list("id", "code", "region_code")
        .iterator(chunk_size=20_000)
    ]
    flagship = [h for h in houses if h.region_code.startswith(danyang.FLAGSHIP_CODE)]
    others = [h for h in houses if not h.region_code.startswith(danyang.FLAGSHIP_CODE)]
    sizes = list(SIZE_WEIGHTS)
    weights = list(SIZE_WEIGHTS.values())

    def draw_sizes(total: int, count: int | None) -> list[int]:
        result: list[int] = []
        if count:  # exactly `count` households summing to `total`
            result = [1] * count
            remaining = total - count
            while remaining > 0:
                i = rng.randrange(count)
                if result[i] < 7:
                    result[i] += 1
                    remaining -= 1
            return result
        while sum(result) < total:
            result.append(rng.choices(sizes, weights)[0])
        result[-1] -= sum(result) - total
        return [s for s in result if s > 0]

    plan: list[tuple[Home, int]] = []
    flagship_people = FLAGSHIP_SHARE[scale]
    if flagship_people:
        flagship_sizes = draw_sizes(flagship_people, None)
        chosen = rng.sample(flagship, min(len(flagship), len(flagship_sizes)))
        plan += list(zip(chosen, flagship_sizes, strict=False))
        other_sizes = draw_sizes(target - sum(s for _h, s in plan), None)
        chosen = rng.sample(others, min(len(others), len(other_sizes)))
        plan += list(zip(chosen, other_sizes, strict=False))
    else:
        assert households_target is not None  # a household target without a flagship share
        count = min(households_target, len(houses))
        sizes_list = draw_sizes(target, count)
        chosen = rng.sample(houses, count)
        plan = list(zip(chosen, sizes_list, strict=True))
    # The demo resident's home: the first house of grid A (written first, see below).
    grid_a = ctx.data["flagship_grids"][0]
    resident_house = next(h for h in flagship if h.region_code == grid_a)
    rest = sorted(
        (item for item in plan if item[0].pk != resident_house.pk), key=lambda i: i[0].code
    )
    plan = [(resident_house, 3), *rest]

    flagship_heads: list[Person] = []
    flagship_people_rows: list[Person] = []
    stats: Counter[str] = Counter()
    for start in range(0, len(plan), CHUNK_HOUSEHOLDS):
        _write_chunk(
            gen,
            plan[start : start + CHUNK_HOUSEHOLDS],
            stats,
            flagship_heads,
            flagship_people_rows,
            scale,
        )
    _flagship_tags(gen, flagship_heads, flagship_people_rows, stats)
    _link_resident(ctx, plan[0][0])
    if connection.vendor == "postgresql":
        # Fresh planner statistics after a bulk load (autovacuum would get there later).
        with connection.cursor() as cursor:
            for model in (Household, Person, HouseLink, PersonTag):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    ctx.log(
        f"    {stats['people']} residents in {stats['households']} households, "
        f"{stats['links']} house links ({stats['history']} ended), {stats['tags']} tags"
    )


def _write_chunk(
    gen: Generator,
    chunk: list[tuple[Home, int]],
    stats: Counter[str],
    flagship_heads: list[Person],
    flagship_people: list[Person],
    scale: str,
) -> None:
    rng = gen.rng
    gen.ages.clear()
    gen.household_sizes.clear()
    households: list[Household] = []
    people: list[Person] = []
    homes: dict[int, Home] = {}
    for house, size in chunk:
        # The demo resident (刘居民) heads the first household: the family shares the surname.
        family = "刘" if gen.first_household else None
        gen.first_household = False
        household, members = gen.household(house, size, family)
        households.append(household)
        for spec in members:
            person = gen.person(spec, household)
            gen.household_sizes[id(person)] = len(members)
            homes[id(person)] = house
            people.append(person)
    bulk.insert(Household, households)
    bulk.insert(Person, people)
    links: list[HouseLink] = []
    tags: list[PersonTag] = []
    by_house: dict[str, list[Home]] = {}
    for house, _size in chunk:
        by_house.setdefault(house.region_code, []).append(house)
    for person in people:
        house = homes[id(person)]
        head = person.relation_to_head == RelationToHead.HEAD
        if head:
            relation = (
                HouseRelation.OWNER
                if person.registration_type == "local" and rng.random() < 0.8
                else HouseRelation.TENANT
            )
        else:
            relation = HouseRelation.FAMILY
        local = person.registration_type == RegistrationType.LOCAL
        born = _born(person)
        start = max(born, gen.today - timedelta(days=rng.randint(30, 20 * 365)))
        if rng.random() < 0.05 and start > born + timedelta(days=400):
            # An earlier home in the same grid: history the detail page shows.
            earlier = rng.choice(by_house[house.region_code])
            if earlier.pk != house.pk:
                links.append(
                    HouseLink(
                        person=person,
                        house_id=earlier.pk,
                        region_code=earlier.region_code,
                        relation=relation,
                        status=LinkStatus.MOVED_OUT,
                        start_date=max(born, start - timedelta(days=rng.randint(365, 3000))),
                        end_date=start,
                        is_household_consistent=local,
                        is_registered=local,
                        created_at=gen.now,
                        ended_at=gen.now,
                    )
                )
                stats["history"] += 1
        links.append(
            HouseLink(
                person=person,
                house_id=house.pk,
                region_code=house.region_code,
                relation=relation,
                status=LinkStatus.MOVED_IN,
                start_date=start,
                is_household_consistent=local and rng.random() < 0.9,
                is_registered=local,
                created_at=gen.now,
            )
        )
        tags += _tags_for(
            gen, person, flagship=person.region_code.startswith(danyang.FLAGSHIP_CODE)
        )
        if person.region_code.startswith(danyang.FLAGSHIP_CODE):
            flagship_people.append(person)
            if head:
                flagship_heads.append(person)
    bulk.insert(HouseLink, links)
    bulk.insert(PersonTag, tags)
    stats["households"] += len(households)
    stats["people"] += len(people)
    stats["links"] += len(links)
    stats["tags"] += len(tags)


def _born(person: Person) -> date:
    """A generated person's birth date (the generator gives everyone one)."""
    assert person.birth_date is not None
    return person.birth_date


def _tag(
    gen: Generator, person: Person, code: str, source: str, detail: str = "", years: int = 3
) -> PersonTag:
    start = max(_born(person), gen.today - timedelta(days=gen.rng.randint(30, years * 365)))
    return PersonTag(
        person=person,
        tag_type=gen.tag_types[code],
        source=source,
        detail=detail,
        start_date=start,
        created_at=gen.now,
    )


def _tags_for(gen: Generator, person: Person, *, flagship: bool) -> list[PersonTag]:
    """Age- and household-based tags; the flagship's counted tags are added separately."""
    rng = gen.rng
    age = gen.ages[id(person)]
    tags = []
    if age >= 80:
        tags.append(_tag(gen, person, "elderly_80", "民政局高龄津贴名册"))
    if (
        age >= 65
        and person.relation_to_head == RelationToHead.HEAD
        and gen.household_sizes[id(person)] == 1
    ):
        tags.append(_tag(gen, person, "living_alone", "入户走访"))
    if age >= 60 and rng.random() < 0.08:
        tags.append(
            _tag(
                gen,
                person,
                "chronic_illness",
                "社区卫生服务中心",
                rng.choice(["高血压", "糖尿病", "慢阻肺"]),
            )
        )
    if person.gender == "M" and age >= 40 and rng.random() < 0.015:
        tags.append(_tag(gen, person, "veteran", "退役军人事务局", "退役军人"))
    if person.gender == "F" and 22 <= age <= 38 and rng.random() < 0.01:
        tags.append(_tag(gen, person, "maternal", "社区卫生服务中心", years=1))
    if not flagship:
        if person.relation_to_head == RelationToHead.HEAD and rng.random() < 0.012:
            tags.append(_tag(gen, person, "dibao", "民政局低保名册"))
        if rng.random() < 0.05:
            tags.append(
                _tag(
                    gen,
                    person,
                    "disability",
                    "残联",
                    f"{rng.choice(DISABILITY)}{rng.choice(GRADES)}",
                    years=10,
                )
            )
        if rng.random() < 0.0004:
            tags.append(_tag(gen, person, "community_correction", "司法所"))
    return tags


def _flagship_tags(gen: Generator, heads: list[Person], people: list[Person], stats) -> None:
    """The thesis's figures for 丹凤社区: 8 低保户, 25 困难户, 100 disabled residents."""
    rng = gen.rng
    if not heads:
        return
    candidates = sorted(heads, key=lambda p: p.pk)[1:]  # not the demo resident
    poor = rng.sample(candidates, FLAGSHIP_FIGURES["dibao"] + FLAGSHIP_FIGURES["hardship"])
    tags = [_tag(gen, p, "dibao", "民政局低保名册") for p in poor[: FLAGSHIP_FIGURES["dibao"]]]
    tags += [
        _tag(gen, p, "hardship", "社区走访", rng.choice(["因病致困", "因残致困", "失业"]))
        for p in poor[FLAGSHIP_FIGURES["dibao"] :]
    ]
    disabled = rng.sample(sorted(people, key=lambda p: p.pk)[3:], FLAGSHIP_FIGURES["disability"])
    tags += [
        _tag(
            gen, p, "disability", "残联", f"{rng.choice(DISABILITY)}{rng.choice(GRADES)}", years=10
        )
        for p in disabled
    ]
    bulk.insert(PersonTag, tags)
    stats["tags"] += len(tags)


def _link_resident(ctx: SeedContext, house: Home) -> None:
    """The demo `resident` account is the head of the first household in grid A."""
    user = User.objects.filter(username="resident").first()
    person = Person.objects.filter(house_id=house.pk, relation_to_head=RelationToHead.HEAD).first()
    if user is None or person is None:
        return
    Person.objects.filter(pk=person.pk).update(
        user=user,
        name=user.full_name or person.name,
        mobile=RESIDENT_MOBILE,
        mobile_hash=hash_for("people.person", "mobile", RESIDENT_MOBILE),
    )
    ctx.data["resident_person"] = person.pk


def DIGEST():
    yield (
        "people",
        Person.objects.order_by("id").values_list(
            "name", "gender", "birth_date", "region_code", "house__code", "relation_to_head"
        ),
    )
    yield (
        "people_tags",
        PersonTag.objects.order_by("id").values_list(
            "person__name", "tag_type__code", "detail", "start_date"
        ),
    )
