"""Registry pages and API: list (query count pinned, keyset pages, capped count, searches),
detail and reveal, forms, exports (masked / unmasked + audited), building and household views,
the resident's own record, the auditor's audit-log search, counts in the region browser."""

import io

import pytest
from openpyxl import load_workbook

from shequ.core.models import AuditEvent
from shequ.geo.models import House
from shequ.people import selectors
from shequ.people.models import HouseLink, Person
from tests.support.factories import make_person, tag, valid_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def residents(world):
    """Twelve people in grid A (one with tags), three in grid B."""
    houses = list(House.objects.filter(region_code=world["grid_a"]).order_by("code")[:12])
    people = [
        make_person(
            house=house, name=f"张{'一二三四五六七八九十甲乙'[i]}明", mobile=f"1991234{i:04d}"
        )
        for i, house in enumerate(houses)
    ]
    tag(people[0], "dibao")
    tag(people[0], "disability", detail="视力一级")
    others = [make_person(grid_code=world["grid_b"], name=f"李{i}") for i in "甲乙丙"]
    return people, others


def test_list_is_scoped_masked_and_query_count_pinned(
    client_as, residents, django_assert_max_num_queries
):
    people, others = residents
    client = client_as("grid")
    with django_assert_max_num_queries(12):
        response = client.get("/people/")
    page = response.content.decode()
    assert response.status_code == 200
    assert people[0].name in page and others[0].name not in page
    assert people[0].masked_id_number in page and people[0].id_number not in page
    assert "199****0000" in page and "19912340000" not in page
    assert "共 12 人" in page
    assert '<span class="chip chip--2">残疾</span>' in page


def test_keyset_pages_and_capped_count(client_as, residents, monkeypatch):
    people, _others = residents
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    monkeypatch.setattr(selectors, "COUNT_CAP", 10)
    page = selectors.people_page(_user("grid"), selectors.PeopleFilter(), limit=5)
    assert len(page.rows) == 5 and page.count_capped and page.count == 10
    seen = [p.pk for p in page.rows]
    while page.next_cursor:
        page = selectors.people_page(
            _user("grid"), selectors.PeopleFilter(), after=page.next_cursor, limit=5
        )
        seen += [p.pk for p in page.rows]
    assert seen == sorted((p.pk for p in people), reverse=True)
    response = client_as("grid").get("/people/")
    assert "10+" in response.content.decode()


def _user(name):
    from shequ.accounts.models import User

    return User.objects.get(username=name)


def test_searches(client_as, residents):
    people, _others = residents
    client = client_as("community")
    page = client.get("/people/", {"q": "张三"}).content.decode()
    assert people[2].name in page and people[3].name not in page and "按姓名开头查找" in page
    page = client.get("/people/", {"q": people[5].id_number}).content.decode()
    assert people[5].name in page and people[4].name not in page and "按证件号码精确查找" in page
    page = client.get("/people/", {"q": "19912340007"}).content.decode()
    assert people[7].name in page and "按电话号码精确查找" in page
    page = client.get("/people/", {"q": "110105194912310021"}).content.decode()
    assert "校验位错误：应为 X。" in page and "共 0 人" in page
    page = client.get("/people/", {"tag": "dibao"}).content.decode()
    assert people[0].name in page and people[1].name not in page
    fragment = client.get("/people/", {"q": "张"}, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="people-results"')


def test_detail_reveal_and_auditor_view(client_as, residents):
    person = residents[0][0]
    client = client_as("grid")
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert person.masked_id_number in page and person.id_number not in page
    refused = client.post(
        f"/people/{person.pk}/reveal/",
        {"field": "id_number", "reason": ""},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 400 and "请填写查看理由" in refused.content.decode()
    shown = client.post(
        f"/people/{person.pk}/reveal/", {"field": "id_number", "reason": "核对低保材料"}
    )
    assert shown.status_code == 200 and person.id_number in shown.content.decode()
    event = AuditEvent.objects.get(action="people.reveal")
    assert event.ip == "127.0.0.1" and event.reason == "核对低保材料"
    auditor_page = client_as("auditor").get(f"/people/{person.pk}/").content.decode()
    assert "核对低保材料" in auditor_page and "查看完整信息记录" in auditor_page
    assert "核对低保材料" not in page
    assert client_as("grid2").get(f"/people/{person.pk}/").status_code == 404
    assert (
        client_as("grid2")
        .post(f"/people/{person.pk}/reveal/", {"field": "id_number", "reason": "看看"})
        .status_code
        == 404
    )


def test_create_edit_and_move_forms(client_as, world):
    client = client_as("grid")
    house = House.objects.filter(region_code=world["grid_a"]).order_by("code")[3]
    number = valid_id()
    response = client.post(
        "/people/new/",
        {
            "name": "孙小美",
            "id_type": "resident_id",
            "id_number": number,
            "mobile": "19912340099",
            "ethnicity": "01",
            "political_status": "masses",
            "registration_type": "local",
            "building": house.building_id,
            "house": house.pk,
            "relation": "owner",
            "is_household_consistent": "on",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(name="孙小美")
    assert person.house == house and HouseLink.objects.get(person=person).relation == "owner"
    duplicate = client.post(
        "/people/new/",
        {
            "name": "孙小丑",
            "id_type": "resident_id",
            "id_number": number,
            "ethnicity": "01",
            "political_status": "masses",
            "registration_type": "local",
            "grid": world["grid_a"],
            "relation": "family",
        },
    )
    assert duplicate.status_code == 409
    masked = Person.objects.get(name="孙小美").masked_id_number
    assert f"该证件号码已登记：孙*美（{masked}）" in duplicate.content.decode()
    bad = client.post(
        "/people/new/",
        {
            "name": "孙小丑",
            "id_type": "resident_id",
            "id_number": "110105194912310021",
            "ethnicity": "01",
            "political_status": "masses",
            "registration_type": "local",
            "grid": world["grid_a"],
            "relation": "family",
        },
    )
    assert bad.status_code == 400 and "校验位错误：应为 X。" in bad.content.decode()
    edit = client.post(
        f"/people/{person.pk}/edit/",
        {
            "name": "孙小美",
            "id_type": "resident_id",
            "id_number": "",
            "mobile": "",
            "ethnicity": "03",
            "political_status": "cpc",
            "registration_type": "local",
        },
    )
    assert edit.status_code == 302
    person.refresh_from_db()
    assert (
        person.ethnicity == "03" and person.mobile == "19912340099" and person.id_number == number
    )
    # Moving into grid B's house is refused with 403, and nothing changes.
    other = House.objects.filter(region_code=world["grid_b"]).first()
    refused = client.post(
        f"/people/{person.pk}/move/",
        {
            "building": other.building_id,
            "house": other.pk,
            "relation": "family",
            "start_date": "2024-01-01",
        },
    )
    assert refused.status_code == 403
    target = House.objects.filter(region_code=world["grid_a"]).order_by("code")[4]
    assert (
        client.get("/people/houses/", {"building": target.building_id})
        .content.decode()
        .count("<option")
        >= 2
    )
    moved = client.post(
        f"/people/{person.pk}/move/",
        {
            "building": target.building_id,
            "house": target.pk,
            "relation": "family",
            "start_date": str(person.house_links.first().start_date),
        },
    )
    assert moved.status_code == 302
    assert list(
        HouseLink.objects.filter(person=person).order_by("id").values_list("status", flat=True)
    ) == ["out", "in"]


def test_tag_and_household_forms(client_as, residents):
    person = residents[0][1]
    client = client_as("grid")
    response = client.post(
        f"/people/{person.pk}/tags/",
        {"tag_type": "elderly_80", "source": "民政局", "start_date": "2024-01-01"},
    )
    assert response.status_code == 302 and person.tags.get().tag_type.code == "elderly_80"
    tag_id = person.tags.get().pk
    assert client.post(f"/people/{person.pk}/tags/{tag_id}/end/").status_code == 302
    assert person.tags.get().end_date is not None
    assert (
        client.post(
            f"/people/{person.pk}/household/", {"number": "", "relation_to_head": "head"}
        ).status_code
        == 302
    )
    person.refresh_from_db()
    assert person.household and person.relation_to_head == "head"
    page = client.get(f"/people/households/{person.household_id}/").content.decode()
    assert person.name in page and person.masked_id_number in page


def test_building_room_grid(client_as, residents):
    person = residents[0][0]
    page = client_as("grid").get(f"/people/buildings/{person.house.building_id}/").content.decode()
    assert "room-grid" in page and person.name in page and person.house.room in page
    assert (
        client_as("grid2").get(f"/people/buildings/{person.house.building_id}/").status_code == 404
    )


def test_masked_export_and_audited_unmasked_export(client_as, residents):
    people, _others = residents
    grid = client_as("grid")
    response = grid.get("/people/export/", {"q": "张"})
    assert response.status_code == 200
    text = _xlsx_text(response.content)
    assert people[0].masked_id_number in text and people[0].id_number not in text
    assert "19912340000" not in text and "导出人：grid" in text
    assert AuditEvent.objects.get(action="people.export").details["unmasked"] is False
    # The grid worker may not export unmasked data.
    assert grid.post("/people/export/", {"unmasked": "on", "reason": "核对"}).status_code == 403
    community = client_as("community")
    refused = community.post("/people/export/", {"unmasked": "on", "reason": ""})
    assert refused.status_code == 302
    assert AuditEvent.objects.filter(action="people.export").count() == 1
    full = community.post(
        "/people/export/", {"unmasked": "on", "reason": "民政局低保年审", "tag": "dibao"}
    )
    text = _xlsx_text(full.content)
    assert people[0].id_number in text and people[1].name not in text
    assert "导出人：community" in text and "用途：民政局低保年审" in text
    event = AuditEvent.objects.filter(action="people.export").latest("id")
    assert (
        event.details["unmasked"]
        and event.details["count"] == 1
        and event.reason == "民政局低保年审"
    )
    assert load_workbook(io.BytesIO(full.content)).properties.creator == "community"


def _xlsx_text(content: bytes) -> str:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        " ".join(str(v) for v in row if v is not None)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
    )


def test_resident_sees_only_their_own_record(client_as, persona, world):
    assert client_as("resident").get("/people/me/").status_code == 200
    assert "尚未关联" in client_as("resident").get("/people/me/").content.decode()
    own = make_person(grid_code=world["grid_a"], user=persona("resident"), mobile="19900000006")
    other = make_person(grid_code=world["grid_a"])
    client = client_as("resident")
    page = client.get("/people/me/").content.decode()
    assert own.masked_id_number in page and own.id_number not in page
    assert "编辑" not in page
    assert client.get("/people/").status_code == 302
    assert client.get(f"/people/{other.pk}/").status_code == 404
    shown = client.post(f"/people/{own.pk}/reveal/", {"field": "id_number", "reason": "本人查看"})
    assert own.id_number in shown.content.decode()


def test_auditor_searches_the_audit_log(client_as, residents, persona):
    from shequ.people.services import person_reveal

    person = residents[0][0]
    person_reveal(actor=persona("grid"), person=person, field="mobile", reason="电话回访")
    person_reveal(actor=persona("community"), person=person, field="id_number", reason="核实身份")
    auditor = client_as("auditor")
    page = auditor.get("/audit/").content.decode()
    assert "电话回访" in page and "核实身份" in page and "查看完整信息" in page
    page = auditor.get("/audit/", {"actor": "grid"}).content.decode()
    assert "电话回访" in page and "核实身份" not in page
    page = auditor.get("/audit/", {"reason": "核实"}).content.decode()
    assert "核实身份" in page and "电话回访" not in page
    assert client_as("grid").get("/audit/").status_code == 404
    assert person.mobile not in page


def test_api(api_client_as, residents, world):
    people, _others = residents
    client = api_client_as("grid")
    listing = client.get("/api/v1/people/", {"q": "张", "limit": 5}).json()
    assert len(listing["items"]) == 5 and listing["next_cursor"] and listing["count"] == 12
    assert listing["items"][0]["id_number"].count("*") == 10
    detail = client.get(f"/api/v1/people/{people[0].pk}").json()
    assert {t["code"] for t in detail["tags"]} == {"dibao", "disability"}
    assert client.get(f"/api/v1/people/{_others_pk(residents)}").status_code == 404
    refused = client.post(
        f"/api/v1/people/{people[0].pk}/reveal",
        {"field": "mobile"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
    shown = client.post(
        f"/api/v1/people/{people[0].pk}/reveal",
        {"field": "mobile", "reason": "回访"},
        content_type="application/json",
    )
    assert shown.json() == {"field": "mobile", "value": "19912340000"}
    created = client.post(
        "/api/v1/people/",
        {"name": "周小周", "id_number": valid_id(), "grid_code": world["grid_a"]},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["region_code"] == world["grid_a"]
    conflict = client.post(
        "/api/v1/people/",
        {"name": "周小周", "id_number": people[1].id_number, "grid_code": world["grid_a"]},
        content_type="application/json",
    )
    assert conflict.status_code == 409 and conflict.json()["code"] == "id_number_taken"
    assert conflict.json()["details"]["existing"]["id_number"] == people[1].masked_id_number
    invalid = client.post(
        "/api/v1/people/",
        {"name": "周小周", "id_number": "110105194912310021", "grid_code": world["grid_a"]},
        content_type="application/json",
    )
    assert (
        invalid.status_code == 400
        and invalid.json()["details"]["fields"]["id_number"] == "校验位错误：应为 X。"
    )
    outside = client.post(
        "/api/v1/people/",
        {"name": "周小周", "id_number": valid_id(), "grid_code": world["grid_b"]},
        content_type="application/json",
    )
    assert outside.status_code == 403


def _others_pk(residents):
    return residents[1][0].pk


def test_region_browser_and_home_show_resident_counts(client_as, residents, world):
    page = client_as("community").get(f"/regions/{world['community']}/").content.decode()
    assert '<th scope="col" class="num">居民</th>' in page
    home = client_as("grid").get("/").content.decode()
    assert "<dt>居民</dt><dd>12</dd>" in home


def test_keyset_orders_cover_every_row_once(residents):
    """Browsing (grid, newest) and name search (name, id) page through everything exactly once,
    across grids and across equal names; a bad cursor is ignored."""
    people, _others = residents
    make_person(grid_code=people[0].region_code, name="张三明")  # a second 张三明
    community = _user("community")

    def walk(filters):
        seen, after = [], None
        while True:
            page = selectors.people_page(community, filters, after=after, limit=4)
            seen += page.rows
            if not page.next_cursor:
                return seen
            after = page.next_cursor

    everyone = walk(selectors.PeopleFilter())
    assert len(everyone) == len({p.pk for p in everyone}) == 16
    keys = [(p.region_code, p.pk) for p in everyone]
    assert keys == sorted(keys, reverse=True)
    named = walk(selectors.PeopleFilter(q="张"))
    assert len(named) == len({p.pk for p in named}) == 13
    assert [(p.name, p.pk) for p in named] == sorted((p.name, p.pk) for p in named)
    garbage = selectors.people_page(community, selectors.PeopleFilter(), after="x.%%%.1")
    assert len(garbage.rows) == 16
