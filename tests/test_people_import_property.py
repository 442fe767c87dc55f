"""The dry run predicts the import exactly: on random ledgers over a random registry, the
preview's problems, warnings, summary (created / updated / unchanged per entity) and new places
equal the real import's — and the real import's summary equals what changed in the database,
measured by comparing snapshots. A rejected file, and a failing write, change nothing."""

import io

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from shequ.core.crypto import hash_for
from shequ.geo.models import Building, Estate, House
from shequ.people.importing import import_file
from shequ.people.models import Household, HouseLink, Person, PersonTag, TagType
from tests.support.factories import make_person, valid_id

pytestmark = pytest.mark.django_db

NAMES = ["赵一", "钱二", "孙三", "李四", "周五", "吴六", "郑七", "王八", "冯九", "陈十"]
RELATIONS = ["户主", "配偶", "子女", "妻", "孙子", "", ""]
# Tag words → the tag codes they mean ("火星人" is unknown: a warning).
TAG_WORDS = {
    "": [],
    "低保户": ["dibao"],
    "独居老人": ["living_alone"],
    "残疾人（一级）": ["disability"],
    "火星人": [],
    "低保、空巢老人": ["dibao", "empty_nest"],
    "社区矫正": ["community_correction"],
}
PRE_TAGS = ["dibao", "living_alone", "empty_nest"]


class World:
    """Places of the random ledgers: existing rooms of two demo buildings, a missing room of
    an existing building, a new estate's building, or no place at all."""

    def __init__(self, world):
        self.world = world
        a = Building.objects.select_related("estate").get(region_code=world["grid_a"], name="1幢")
        b = Building.objects.select_related("estate").filter(region_code=world["grid_b"]).first()
        self.places = []
        for building, unit, room in ((a, 1, "301"), (a, 1, "302"), (a, 2, "301"), (b, 1, "101")):
            house = House.objects.get(building=building, unit=unit, room=room)
            self.places.append(
                {
                    "estate": building.estate.name,
                    "building": building.name,
                    "unit": unit,
                    "room": room,
                    "house": house,
                }
            )
        self.places.append(
            {"estate": a.estate.name, "building": a.name, "unit": 1, "room": "9909", "house": None}
        )
        self.places.append(
            {"estate": "新苑小区", "building": "1幢", "unit": 1, "room": "101", "house": None}
        )
        self.places.append({"estate": "", "building": "", "unit": "", "room": "", "house": None})
        self.ids = [valid_id() for _name in NAMES]


@pytest.fixture
def pools(world):
    return World(world)


row_specs = st.lists(
    st.tuples(
        st.integers(0, len(NAMES) - 1),  # who
        st.sampled_from(RELATIONS),
        st.integers(0, 6),  # place
        st.sampled_from(list(TAG_WORDS)),
        st.sampled_from(["", "13912345678", "0511-86881234"]),
        st.sampled_from(["", "", "", "HX-1", "HX-2"]),  # 户号
    ),
    min_size=1,
    max_size=9,
    unique_by=lambda spec: spec[0],  # one row per person (duplicates are tested elsewhere)
)
pre_states = st.lists(
    st.tuples(
        st.integers(0, 3),  # place (existing houses only)
        st.sampled_from(["", "head", "spouse"]),
        st.lists(st.sampled_from(PRE_TAGS), max_size=2, unique=True),
        st.booleans(),  # has a mobile
    ),
    max_size=5,
)


def build_registry(pools, pre) -> None:
    """The first len(pre) people already live in the community (some in households)."""
    households: dict[int, Household] = {}
    for index, (place, relation, tags, phone) in enumerate(pre):
        house = pools.places[place]["house"]
        household = None
        if relation:
            household = households.get(house.pk)
            if household is None or (
                relation == "head"
                and any(p.relation_to_head == "head" for p in household.members.all())
            ):
                household = Household.objects.create(
                    number=f"PRE-{index}", house=house, region_code=house.region_code
                )
                households[house.pk] = household
        person = make_person(
            house=house,
            name=NAMES[index],
            id_number=pools.ids[index],
            mobile="13912345678" if phone else "",
            household=household,
            relation_to_head=relation if household else "",
        )
        for code in tags:
            PersonTag.objects.create(
                person=person,
                tag_type=TagType.objects.get(code=code),
                source="测试",
                start_date=person.created_at.date(),
            )


def ledger(pools, rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["丹凤社区实有人口台账"])
    sheet.append(
        [
            "序号",
            "姓名",
            "身份证号码",
            "关系",
            "户号",
            "小区",
            "幢",
            "单元",
            "房号",
            "手机号",
            "人员类别",
        ]
    )
    for serial, (who, relation, place, tags, phone, number) in enumerate(rows, start=1):
        p = pools.places[place]
        sheet.append(
            [
                serial,
                NAMES[who],
                pools.ids[who],
                relation,
                number,
                p["estate"],
                p["building"],
                p["unit"],
                p["room"],
                phone,
                tags,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def snapshot(community: str) -> dict:
    people = {}
    for p in Person.objects.filter(region_code__startswith=community):
        people[p.pk] = (
            p.name,
            p.mobile,
            p.landline,
            p.household_id,
            p.relation_to_head,
            p.house_id,
            p.region_code,
            p.status,
            frozenset(p.tags.filter(end_date__isnull=True).values_list("tag_type_id", flat=True)),
        )
    households = {
        h.pk: (h.house_id, frozenset(h.members.values_list("pk", flat=True)))
        for h in Household.objects.all()
    }
    return {
        "person": people,
        "household": households,
        "estate": set(Estate.objects.values_list("pk", flat=True)),
        "building": set(Building.objects.values_list("pk", flat=True)),
        "house": set(House.objects.values_list("pk", flat=True)),
        "house_link": dict(HouseLink.objects.values_list("pk", "status")),
        "tag": set(PersonTag.objects.values_list("pk", flat=True)),
    }


def measured(before: dict, after: dict, file_people: set[int], tags_kept: int, places) -> dict:
    """What the import did, from the database alone (and the ledger for 'unchanged')."""
    people_before, people_after = before["person"], after["person"]
    changed = {pk for pk in people_before if people_after.get(pk) != people_before[pk]}
    assert changed <= file_people  # nobody outside the file was touched
    result = {
        "person": {
            "created": len(people_after.keys() - people_before.keys()),
            "updated": len(changed),
            "unchanged": len((file_people & people_before.keys()) - changed),
        }
    }
    h_before, h_after = before["household"], after["household"]
    h_changed = {pk for pk in h_before if h_after[pk] != h_before[pk]}
    referenced = {
        pk for pk, (_house, members) in h_after.items() if pk in h_before and members & file_people
    }
    result["household"] = {
        "created": len(h_after.keys() - h_before.keys()),
        "updated": len(h_changed),
        "unchanged": len(referenced - h_changed),
    }
    for key, used in places.items():
        result[key] = {"created": len(after[key] - before[key]), "updated": 0, "unchanged": used}
    links_before, links_after = before["house_link"], after["house_link"]
    result["house_link"] = {
        "created": len(links_after.keys() - links_before.keys()),
        "updated": sum(1 for pk, status in links_before.items() if links_after[pk] != status),
        "unchanged": 0,
    }
    result["tag"] = {
        "created": len(after["tag"] - before["tag"]),
        "updated": 0,
        "unchanged": tags_kept,
    }
    return result


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pre=pre_states,
    earlier=row_specs,
    data=st.data(),
    create_missing=st.booleans(),
    as_staff=st.booleans(),
)
def test_the_dry_run_predicts_the_import(
    pools, world, persona, pre, earlier, data, create_missing, as_staff
):
    """The registry: a few people made directly, then an earlier ledger imported. The ledger
    under test repeats the earlier one with some rows the same, some changed in one field,
    some dropped, and some new people — the shapes of a community's monthly re-import."""
    from django.db import transaction

    community = world["community"]
    actor = persona("community") if as_staff else None
    with transaction.atomic():
        build_registry(pools, pre)
        import_file(
            ledger(pools, earlier),
            actor=None,
            community_code=community,
            default_grid_code=world["grid_a"],
            create_missing=True,
        )
        rows = []
        for spec in earlier:
            action = data.draw(st.sampled_from(["same", "same", "change", "drop"]), label="action")
            if action == "drop":
                continue
            if action == "change":
                field = data.draw(st.integers(1, 5), label="field")
                value = data.draw(row_specs, label="values")[0][field]
                spec = (*spec[:field], value, *spec[field + 1 :])
            rows.append(spec)
        taken = {spec[0] for spec in rows} | {spec[0] for spec in earlier}
        rows += [spec for spec in data.draw(row_specs, label="new people") if spec[0] not in taken][
            :3
        ]
        if not rows:
            rows = earlier[:1]
        content = ledger(pools, rows)
        options = {
            "actor": actor,
            "community_code": community,
            "default_grid_code": world["grid_a"],
            "create_missing": create_missing,
        }
        before = snapshot(community)
        dry = import_file(content, dry_run=True, **options)
        assert snapshot(community) == before  # a preview writes nothing
        existing_before = {
            pk
            for (pk,) in Person.objects.filter(region_code__startswith=community).values_list("pk")
        }
        open_before = {
            (person_id, code)
            for person_id, code in PersonTag.objects.filter(end_date__isnull=True).values_list(
                "person_id", "tag_type__code"
            )
        }
        real = import_file(content, **options)
        assert [p.as_dict() for p in real.problems] == [p.as_dict() for p in dry.problems]
        assert [w.as_dict() for w in real.warnings] == [w.as_dict() for w in dry.warnings]
        assert real.ok == dry.ok and real.total == dry.total
        assert real.summary == dry.summary
        assert real.new_places == dry.new_places
        after = snapshot(community)
        event("imported" if real.ok else "rejected")
        if real.ok:
            event(f"people updated: {min(real.updated, 2)}, unchanged: {min(real.unchanged, 2)}")
        event(f"warnings: {min(len(real.warnings), 3)}")
        if not real.ok:
            assert after == before and not real.written
        else:
            hashes = [hash_for("people.person", "id_number", pools.ids[r[0]]) for r in rows]
            file_people = set(
                Person.objects.filter(id_number_hash__in=hashes).values_list("pk", flat=True)
            )
            # Tags the people already had (each file row is a distinct person when ok); the
            # community may not import 社区矫正 (a warning), the command line may.
            kept = 0
            for who, _rel, _place, words, _phone, _number in rows:
                pk = Person.objects.get(
                    id_number_hash=hash_for("people.person", "id_number", pools.ids[who])
                ).pk
                codes = [
                    c for c in TAG_WORDS[words] if not (as_staff and c == "community_correction")
                ]
                if pk in existing_before:
                    kept += sum(1 for c in codes if (pk, c) in open_before)
            # Existing places the rows name (an earlier ledger may have created some).
            places = {"estate": set(), "building": set(), "house": set()}
            for _who, _rel, place, *_rest in rows:
                p = pools.places[place]
                if not p["building"]:
                    continue
                building = Building.objects.filter(
                    estate__name=p["estate"], name=p["building"], region_code__startswith=community
                ).first()
                if building is None or building.pk not in before["building"]:
                    continue
                places["building"].add(building.pk)
                places["estate"].add(building.estate_id)
                house = House.objects.filter(
                    building=building, unit=p["unit"], room=p["room"]
                ).first()
                if house is not None and house.pk in before["house"]:
                    places["house"].add(house.pk)
            used = {key: len(pks) for key, pks in places.items()}
            assert real.summary == measured(before, after, file_people, kept, used)
            assert real.written
        transaction.set_rollback(True)


def test_a_failing_write_changes_nothing(pools, world, monkeypatch):
    """Atomic: the writer fails at its very end (the audit row) — nothing stays."""
    from shequ.people.importing import writing

    rows = [(0, "户主", 5, "低保户", "", ""), (1, "配偶", 5, "", "", ""), (2, "", 0, "", "", "")]
    content = ledger(pools, rows)
    before = snapshot(world["community"])

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing, "audit_record", broken)
    with pytest.raises(RuntimeError):
        import_file(
            content,
            actor=None,
            community_code=world["community"],
            default_grid_code=world["grid_a"],
            create_missing=True,
        )
    assert snapshot(world["community"]) == before
    assert not Estate.objects.filter(name="新苑小区").exists()


def test_a_failing_job_is_recorded_and_changes_nothing(pools, world, persona, monkeypatch):
    """The write fails half-way (the tags, after people, houses and links): the job records
    the failure, its file is discarded, and the registry is as it was."""
    from django.db import IntegrityError

    from shequ.people import bulk, services
    from shequ.people.importing import run_job

    rows = [(0, "户主", 5, "低保户", "", ""), (1, "妻", 5, "", "", "")]
    before = snapshot(world["community"])
    job = services.import_job_create(
        actor=persona("community"),
        file_name="台账.xlsx",
        content=ledger(pools, rows),
        community_code=world["community"],
        default_grid_code=world["grid_a"],
        create_missing=True,
    )
    real_insert = bulk.insert

    def insert(model, objs):
        if model is PersonTag:
            raise IntegrityError("simulated")
        return real_insert(model, objs)

    monkeypatch.setattr(bulk, "insert", insert)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "未写入任何数据" in job.message and job.payload == b""
    assert snapshot(world["community"]) == before
    assert not Estate.objects.filter(name="新苑小区").exists()
