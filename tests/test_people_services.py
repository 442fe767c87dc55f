"""Registry rules: registration, ID conflicts, moves with history, tags, households, reveal with
audit, scope isolation (grid A vs grid B), sensitive tags."""

from datetime import date

import pytest
from django.http import Http404
from django.utils import timezone

from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.models import AppendOnlyError, AuditEvent
from shequ.geo.models import House
from shequ.people import services
from shequ.people.models import Household, HouseLink, Person, PersonTag, TagType
from shequ.people.selectors import PeopleFilter, people_page, person_detail, person_for_user
from tests.support.factories import make_person, tag, valid_id

pytestmark = pytest.mark.django_db


def house_in(grid_code: str, n: int = 0) -> House:
    return House.objects.filter(region_code=grid_code).order_by("code")[n]


def create(actor, house=None, grid_code="", **fields):
    fields.setdefault("name", "陈小红")
    fields.setdefault("id_number", valid_id(male=False))
    return services.person_create(
        actor=actor,
        fields=fields,
        residence=services.Residence(house=house, grid_code=grid_code),
    )


def test_create_derives_gender_birth_and_links_the_house(persona, world):
    house = house_in(world["grid_a"])
    person = create(persona("grid"), house=house, id_number="110105491231002", mobile="19912345678")
    assert person.id_number == "11010519491231002X"  # upgraded from 15 digits
    assert (person.gender, person.birth_date) == ("F", date(1949, 12, 31))
    assert person.region_code == world["grid_a"] and person.house == house
    link = HouseLink.objects.get(person=person)
    assert (link.status, link.relation, link.region_code) == ("in", "family", world["grid_a"])
    event = AuditEvent.objects.get(action="people.person_create", object_id=str(person.pk))
    assert event.actor_name == "grid" and "11010519491231002X" not in str(event.details)


def test_invalid_fields_are_all_reported(persona, world):
    with pytest.raises(InvalidInput) as excinfo:
        create(
            persona("grid"),
            grid_code=world["grid_a"],
            name="",
            id_number="110105194912310021",
            mobile="123",
        )
    fields = excinfo.value.details["fields"]
    assert fields["id_number"] == "校验位错误：应为 X。"
    assert set(fields) == {"name", "id_number", "mobile"}
    assert not Person.objects.exists()


def test_duplicate_id_number_is_a_conflict_naming_the_masked_record(persona, world):
    number = valid_id()
    existing = create(
        persona("community"), grid_code=world["grid_b"], name="赵大明", id_number=number
    )
    with pytest.raises(ConflictError) as excinfo:
        create(persona("grid"), grid_code=world["grid_a"], id_number=number.lower())
    error = excinfo.value
    assert error.status == 409 and error.code == "id_number_taken"
    assert "赵*明" in error.message and existing.masked_id_number in error.message
    assert number not in error.message
    assert Person.objects.count() == 1


def test_grid_worker_cannot_register_in_another_grid(persona, world):
    with pytest.raises(PermissionDeniedError):
        create(persona("grid"), grid_code=world["grid_b"])


def test_moving_house_keeps_history_and_scope_follows(persona, world):
    community = persona("community")
    person = create(community, house=house_in(world["grid_a"]))
    old_link = HouseLink.objects.get(person=person)
    target = house_in(world["grid_b"], 3)
    moved = timezone.localdate()
    services.person_move_in(
        actor=community, person=person, house=target, relation="tenant", start_date=moved
    )
    old_link.refresh_from_db()
    assert (old_link.status, old_link.end_date) == ("out", moved)
    current = HouseLink.objects.get(person=person, status="in")
    assert current.house == target and current.relation == "tenant"
    person.refresh_from_db()
    assert person.region_code == world["grid_b"] and person.house == target
    assert HouseLink.objects.filter(person=person).count() == 2
    # grid A's worker no longer sees the person; grid B's does.
    with pytest.raises(Http404):
        person_for_user(persona("grid"), person.pk)
    assert person_for_user(persona("grid2"), person.pk) == person
    services.person_move_out(actor=community, person=person, left_city=True)
    person.refresh_from_db()
    assert (
        person.house is None and person.status == "left" and person.region_code == world["grid_b"]
    )
    assert not HouseLink.objects.filter(person=person, status="in").exists()


def test_move_into_a_house_outside_scope_is_403(persona, world):
    person = create(persona("grid"), house=house_in(world["grid_a"]))
    with pytest.raises(PermissionDeniedError) as excinfo:
        services.person_move_in(
            actor=persona("grid"), person=person, house=house_in(world["grid_b"])
        )
    assert excinfo.value.status == 403
    person.refresh_from_db()
    assert person.region_code == world["grid_a"]
    assert HouseLink.objects.filter(person=person, status="in").count() == 1


def test_move_with_a_stale_copy_fails_loudly(persona, world):
    community = persona("community")
    person = create(community, house=house_in(world["grid_a"]))
    stale = Person.objects.get(pk=person.pk)
    services.person_move_in(actor=community, person=person, house=house_in(world["grid_a"], 1))
    with pytest.raises(ConflictError):
        services.person_move_in(actor=community, person=stale, house=house_in(world["grid_a"], 2))


def test_tags_with_source_dates_and_history(persona, world):
    grid = persona("grid")
    person = create(grid, house=house_in(world["grid_a"]))
    dibao = TagType.objects.get(code="dibao")
    with pytest.raises(InvalidInput, match="来源"):
        services.person_tag_add(actor=grid, person=person, tag_type=dibao, source="")
    added = services.person_tag_add(actor=grid, person=person, tag_type=dibao, source="民政局")
    with pytest.raises(ConflictError):
        services.person_tag_add(actor=grid, person=person, tag_type=dibao, source="民政局")
    services.person_tag_end(actor=grid, tag=added)
    added.refresh_from_db()
    assert added.end_date == timezone.localdate()
    again = services.person_tag_add(actor=grid, person=person, tag_type=dibao, source="复审")
    assert PersonTag.objects.filter(person=person).count() == 2 and again.end_date is None


def test_restricted_tags_need_a_stricter_role(persona, world):
    person = create(persona("community"), house=house_in(world["grid_a"]))
    restricted = TagType.objects.get(code="community_correction")
    with pytest.raises(PermissionDeniedError):
        services.person_tag_add(
            actor=persona("community"), person=person, tag_type=restricted, source="司法所"
        )
    services.person_tag_add(
        actor=persona("admin"), person=person, tag_type=restricted, source="司法所"
    )
    assert not any(
        t.tag_type.code == "community_correction"
        for t in person_detail(persona("community"), person)["tags"]
    )
    assert any(
        t.tag_type.code == "community_correction"
        for t in person_detail(persona("admin"), person)["tags"]
    )


def test_sensitive_tags_only_for_roles_that_need_them(persona, world):
    person = make_person(grid_code=world["grid_a"])
    tag(person, "disability", detail="肢体二级")
    tag(person, "dibao")
    seen = {
        name: {t.tag_type.code for t in person_detail(persona(name), person)["tags"]}
        for name in ("grid", "community", "auditor", "township")
    }
    assert seen["grid"] == seen["community"] == seen["township"] == {"disability", "dibao"}
    assert seen["auditor"] == {"dibao"}
    page = people_page(persona("auditor"), PeopleFilter())
    assert {t.tag_type.code for p in page.rows for t in p.visible_tags} == {"dibao"}
    # Filtering by a sensitive tag would reveal it: the auditor gets nobody.
    assert people_page(persona("auditor"), PeopleFilter(tag="disability")).rows == []
    assert [p.pk for p in people_page(persona("grid"), PeopleFilter(tag="disability")).rows] == [
        person.pk
    ]


def test_household_head_is_unique(persona, world):
    community = persona("community")
    house = house_in(world["grid_a"])
    household = services.household_create(actor=community, house=house)
    assert household.number.startswith(world["grid_a"] + "H")
    head = create(community, house=house)
    other = create(community, house=house)
    services.person_set_household(
        actor=community, person=head, household=household, relation_to_head="head"
    )
    with pytest.raises(ConflictError, match="户主"):
        services.person_set_household(
            actor=community, person=other, household=household, relation_to_head="head"
        )
    services.person_set_household(
        actor=community, person=other, household=household, relation_to_head="spouse"
    )
    assert set(
        Household.objects.get(pk=household.pk).members.values_list("relation_to_head", flat=True)
    ) == {"head", "spouse"}


def test_update_audits_field_names_not_values(persona, world):
    grid = persona("grid")
    person = create(grid, house=house_in(world["grid_a"]), mobile="19912345678")
    services.person_update(
        actor=grid, person=person, fields={"mobile": "19987654321", "name": "陈小兰"}
    )
    fresh = Person.objects.get(pk=person.pk)
    assert fresh.mobile == "19987654321" and fresh.name == "陈小兰"
    event = AuditEvent.objects.get(action="people.person_update")
    assert event.details == {"fields": ["mobile", "name"]}
    assert "19987654321" not in str(event.details) + event.object_repr


def test_update_to_an_id_number_already_used_is_a_conflict(persona, world):
    community = persona("community")
    first = create(community, grid_code=world["grid_a"])
    second = create(community, grid_code=world["grid_a"])
    with pytest.raises(ConflictError):
        services.person_update(
            actor=community, person=second, fields={"id_number": first.id_number}
        )
    assert Person.objects.get(pk=second.pk).id_number == second.id_number


def test_reveal_needs_a_reason_and_is_audited(persona, world):
    person = make_person(grid_code=world["grid_a"], mobile="19912345678")
    grid = persona("grid")
    with pytest.raises(InvalidInput) as excinfo:
        services.person_reveal(actor=grid, person=person, field="id_number", reason=" ")
    assert excinfo.value.code == "reason_required"
    assert not AuditEvent.objects.filter(action="people.reveal").exists()
    value = services.person_reveal(actor=grid, person=person, field="mobile", reason="电话回访")
    assert value == "19912345678"
    event = AuditEvent.objects.get(action="people.reveal")
    assert (event.actor_name, event.reason, event.details["field"]) == (
        "grid",
        "电话回访",
        "mobile",
    )
    assert event.object_id == str(person.pk) and event.region_code == world["grid_a"]
    assert "19912345678" not in event.object_repr
    with pytest.raises(PermissionDeniedError):
        services.person_reveal(
            actor=persona("auditor"), person=person, field="mobile", reason="看看"
        )


def test_resident_reveals_only_their_own(persona, world):
    resident = persona("resident")
    own = make_person(grid_code=world["grid_a"], user=resident)
    other = make_person(grid_code=world["grid_a"])
    assert (
        services.person_reveal(actor=resident, person=own, field="id_number", reason="本人查看")
        == own.id_number
    )
    with pytest.raises(PermissionDeniedError):
        services.person_reveal(actor=resident, person=other, field="id_number", reason="本人查看")
    assert person_for_user(resident, own.pk) == own
    with pytest.raises(Http404):
        person_for_user(resident, other.pk)


def test_audit_log_is_append_only(persona, world):
    person = make_person(grid_code=world["grid_a"])
    services.person_reveal(actor=persona("grid"), person=person, field="id_number", reason="核实")
    event = AuditEvent.objects.get(action="people.reveal")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="x")
    with pytest.raises(AppendOnlyError):
        event.delete()


@pytest.mark.parametrize(
    ("username", "sees_a", "sees_b", "sees_other_township"),
    [
        ("grid", True, False, False),
        ("grid2", False, True, False),
        ("community", True, True, False),
        ("township", True, True, False),
        ("city", True, True, True),
        ("resident", False, False, False),
        ("property", False, False, False),
    ],
)
def test_scope_isolation(persona, world, username, sees_a, sees_b, sees_other_township):
    a = make_person(grid_code=world["grid_a"])
    b = make_person(grid_code=world["grid_b"])
    other_grid = (
        House.objects.filter(region_code__startswith=world["other_township"]).first().region_code
    )
    c = make_person(grid_code=other_grid)
    visible = {p.pk for p in people_page(persona(username), PeopleFilter()).rows}
    assert (a.pk in visible, b.pk in visible, c.pk in visible) == (
        sees_a,
        sees_b,
        sees_other_township,
    )
    for person, sees in ((a, sees_a), (b, sees_b), (c, sees_other_township)):
        if sees:
            assert person_for_user(persona(username), person.pk) == person
        else:
            with pytest.raises(Http404):
                person_for_user(persona(username), person.pk)


def test_owner_link_without_moving_in_and_then_moving_in(persona, world):
    community = persona("community")
    person = create(community, house=house_in(world["grid_a"]))
    owned = house_in(world["grid_a"], 5)
    link = services.house_link_add(actor=community, person=person, house=owned, relation="owner")
    assert (link.status, link.relation) == ("pending", "owner")
    with pytest.raises(ConflictError):
        services.house_link_add(actor=community, person=person, house=owned)
    moved = services.person_move_in(actor=community, person=person, house=owned, relation="owner")
    assert moved.pk == link.pk and HouseLink.objects.get(pk=link.pk).status == "in"
    assert HouseLink.objects.filter(person=person).count() == 2


def test_link_a_login_account(persona, world):
    person = create(persona("grid"), house=house_in(world["grid_a"]))
    services.person_link_user(actor=persona("grid"), person=person, user=persona("resident"))
    assert Person.objects.get(user=persona("resident")) == person
    other = create(persona("grid"), house=house_in(world["grid_a"], 1))
    with pytest.raises(ConflictError):
        services.person_link_user(actor=persona("grid"), person=other, user=persona("resident"))
    with pytest.raises(PermissionDeniedError):
        services.person_link_user(actor=persona("grid2"), person=other, user=persona("auditor"))
