"""Scoped edit pages for estates, buildings and houses (issue 21.5), through the geo services."""

import pytest

from shequ.core.errors import InvalidInput, PermissionDeniedError
from shequ.core.models import AuditEvent
from shequ.geo import services
from shequ.geo.models import Building, Estate, EstateKind, House, Region


def _building(code: str) -> Building:
    return Building.objects.filter(region_code=code, is_rural_house=False).order_by("code").first()


class TestServices:
    def test_building_create_and_update_are_audited(self, persona, world):
        grid = Region.objects.get(code=world["grid_a"])
        building = services.building_create(
            actor=persona("grid"),
            grid=grid,
            name="99栋",
            address="测试路99号",
            lat=31.99,
            lng=119.57,
            floors=6,
            units=2,
        )
        assert building.code.startswith(grid.code) and len(building.code) == 19
        assert building.region_code == grid.code
        event = AuditEvent.objects.get(action="geo.building_create", object_id=str(building.pk))
        assert event.actor.username == "grid"
        services.building_update(actor=persona("grid"), building=building, fields={"floors": 7})
        building.refresh_from_db()
        assert building.floors == 7
        update = AuditEvent.objects.get(action="geo.building_update", object_id=str(building.pk))
        assert update.details == {"fields": ["floors"]}

    def test_house_create_checks_the_grid_of_floors_and_units(self, persona, world):
        building = _building(world["grid_a"])
        house = services.house_create(
            actor=persona("community"), building=building, unit=1, floor=1, room="199"
        )
        assert house.code.startswith(building.code) and house.region_code == building.region_code
        assert AuditEvent.objects.filter(
            action="geo.house_create", object_id=str(house.pk)
        ).exists()
        with pytest.raises(InvalidInput) as error:
            services.house_create(
                actor=persona("community"),
                building=building,
                unit=building.units + 1,
                floor=building.floors + 1,
                room="x",
            )
        assert set(error.value.details["fields"]) == {"unit", "floor"}
        with pytest.raises(InvalidInput, match="已有此室号"):
            services.house_create(
                actor=persona("community"), building=building, unit=1, floor=1, room="199"
            )
        services.house_update(actor=persona("community"), house=house, fields={"room": "198"})
        house.refresh_from_db()
        assert house.room == "198"
        assert AuditEvent.objects.filter(action="geo.house_update").exists()

    def test_fewer_floors_than_rooms_use_is_refused(self, persona, world):
        building = _building(world["grid_a"])
        assert House.objects.filter(building=building, floor__gt=1).exists()
        with pytest.raises(InvalidInput, match="不能减少层数"):
            services.building_update(actor=persona("grid"), building=building, fields={"floors": 1})

    def test_estate_create_and_update(self, persona, world):
        grid = Region.objects.get(code=world["grid_a"])
        estate = services.estate_create(
            actor=persona("community"), grid=grid, name="新苑", kind=EstateKind.ESTATE
        )
        assert estate.region_code == grid.code
        with pytest.raises(InvalidInput, match="同名"):
            services.estate_create(
                actor=persona("community"), grid=grid, name="新苑", kind=EstateKind.ESTATE
            )
        services.estate_update(
            actor=persona("community"), estate=estate, fields={"name": "新苑二期"}
        )
        assert Estate.objects.get(pk=estate.pk).name == "新苑二期"
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"geo.estate_create", "geo.estate_update"} <= actions

    def test_out_of_scope_and_wrong_roles_are_refused(self, persona, world):
        building_b = _building(world["grid_b"])
        with pytest.raises(PermissionDeniedError):
            services.building_update(
                actor=persona("grid"), building=building_b, fields={"floors": 9}
            )
        with pytest.raises(PermissionDeniedError):
            services.house_create(
                actor=persona("property"), building=building_b, unit=1, floor=1, room="1"
            )
        with pytest.raises(PermissionDeniedError):
            services.estate_create(
                actor=persona("resident"),
                grid=building_b.grid,
                name="x",
                kind=EstateKind.ESTATE,
            )


class TestPages:
    def test_room_grid_is_floors_by_units_with_edit_links(self, client_as, world):
        building = _building(world["grid_a"])
        response = client_as("grid").get(f"/geo/buildings/{building.pk}/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "楼栋房屋网格" in html
        assert html.count("<tr>") == building.floors + 1 + (
            1 if House.objects.filter(building=building, floor__isnull=True).exists() else 0
        )
        house = House.objects.filter(building=building).first()
        assert f"/geo/houses/{house.pk}/edit/" in html
        assert f"/geo/buildings/{building.pk}/houses/new/?unit=1&amp;floor=1" in html
        assert f"/geo/buildings/{building.pk}/edit/" in html
        assert f"/people/buildings/{building.pk}/" in html  # the residents' view of it

    def test_region_browser_lists_buildings_as_the_entry_point(self, client_as, world):
        building = _building(world["grid_a"])
        html = client_as("grid").get(f"/regions/{world['grid_a']}/").content.decode()
        assert f'href="/geo/buildings/{building.pk}/"' in html
        assert f"/geo/grids/{world['grid_a']}/buildings/new/" in html

    def test_grid_worker_of_grid_a_cannot_edit_grid_b(self, client_as, world):
        building_b = _building(world["grid_b"])
        house_b = House.objects.filter(building=building_b).first()
        estate_b = Estate.objects.filter(grid__code=world["grid_b"]).first()
        client = client_as("grid")
        for url in (
            f"/geo/buildings/{building_b.pk}/",
            f"/geo/buildings/{building_b.pk}/edit/",
            f"/geo/buildings/{building_b.pk}/houses/new/",
            f"/geo/houses/{house_b.pk}/edit/",
            f"/geo/estates/{estate_b.pk}/edit/",
            f"/geo/grids/{world['grid_b']}/buildings/new/",
            f"/geo/grids/{world['grid_b']}/estates/new/",
        ):
            assert client.get(url).status_code == 404, url
        response = client.post(f"/geo/buildings/{building_b.pk}/edit/", {"name": "x"})
        assert response.status_code == 404
        assert client_as("grid2").get(f"/geo/buildings/{building_b.pk}/edit/").status_code == 200

    @staticmethod
    def _company_building(persona) -> Building:
        company = persona("property").assignments.get().property_company
        return Building.objects.filter(estate__property_company=company).order_by("code")[0]

    def test_property_staff_cannot_edit_their_company_building(self, client_as, persona):
        building = self._company_building(persona)
        client = client_as("property")
        assert client.get(f"/geo/buildings/{building.pk}/edit/").status_code == 404
        response = client.post(f"/geo/buildings/{building.pk}/edit/", {"name": "x"})
        assert response.status_code == 404
        building.refresh_from_db()
        assert building.name != "x"

    def test_property_staff_see_their_company_building(self, client_as, persona):
        building = self._company_building(persona)
        response = client_as("property").get(f"/geo/buildings/{building.pk}/")
        assert response.status_code == 200
        assert "/edit/" not in response.content.decode()

    def test_property_staff_do_not_see_other_buildings(self, client_as, persona):
        company = persona("property").assignments.get().property_company
        other = Building.objects.exclude(estate__property_company=company).order_by("code").first()
        assert other is not None
        assert client_as("property").get(f"/geo/buildings/{other.pk}/").status_code == 404

    def test_edit_building_page_saves_through_the_service(self, client_as, world):
        building = _building(world["grid_a"])
        client = client_as("community")
        form = {
            "name": building.name,
            "address": building.address + "（改）",
            "estate": building.estate_id or "",
            "floors": building.floors,
            "units": building.units,
            "lat": building.lat,
            "lng": building.lng,
        }
        response = client.post(f"/geo/buildings/{building.pk}/edit/", form)
        assert response.status_code == 302
        building.refresh_from_db()
        assert building.address.endswith("（改）")
        assert AuditEvent.objects.filter(
            action="geo.building_update", object_id=str(building.pk)
        ).exists()

    def test_bad_input_gets_chinese_errors_not_500(self, client_as, world):
        building = _building(world["grid_a"])
        client = client_as("community")
        response = client.post(
            f"/geo/buildings/{building.pk}/houses/new/",
            {"unit": building.units + 5, "floor": 1, "room": ""},
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert "这个字段是必填项" in html or "请填写室号" in html
        response = client.post(
            f"/geo/buildings/{building.pk}/houses/new/",
            {"unit": building.units + 1, "floor": 1, "room": "5"},
        )
        assert response.status_code == 400
        assert "单元应在" in response.content.decode()
        response = client.post(
            f"/geo/grids/{world['grid_a']}/buildings/new/",
            {"name": "1", "address": "a", "floors": "abc", "units": 1, "lat": 1, "lng": 1},
        )
        assert response.status_code == 400

    def test_create_house_from_the_grid_cell(self, client_as, world):
        building = _building(world["grid_a"])
        client = client_as("grid")
        url = f"/geo/buildings/{building.pk}/houses/new/?unit=1&floor=2"
        page = client.get(url).content.decode()
        assert 'value="2"' in page
        response = client.post(url, {"unit": 1, "floor": 2, "room": "2099"})
        assert response.status_code == 302
        assert House.objects.filter(building=building, room="2099", floor=2).exists()


class TestAdmin:
    """The admin stays for operators, and writes through the same services (audit rows)."""

    def test_admin_building_add_and_change_are_audited(self, client_as, world):
        grid = Region.objects.get(code=world["grid_a"])
        client = client_as("city")
        form = {
            "code": "",
            "grid": grid.pk,
            "estate": "",
            "name": "88栋",
            "address": "管理后台路88号",
            "lat": "31.99",
            "lng": "119.57",
            "floors": "5",
            "units": "1",
        }
        response = client.post("/admin/geo/building/add/", form)
        assert response.status_code == 302, response.content.decode()[:3000]
        building = Building.objects.get(address="管理后台路88号")
        assert building.code.startswith(grid.code)
        assert AuditEvent.objects.filter(
            action="geo.building_create", object_id=str(building.pk)
        ).exists()
        change = {k: v for k, v in form.items() if k not in ("code", "grid")}
        response = client.post(
            f"/admin/geo/building/{building.pk}/change/", {**change, "floors": "6"}
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        building.refresh_from_db()
        assert building.floors == 6 and building.region_code == grid.code
        assert AuditEvent.objects.filter(
            action="geo.building_update", object_id=str(building.pk)
        ).exists()

    def test_admin_house_add_validates_against_the_building(self, client_as, world):
        building = _building(world["grid_a"])
        client = client_as("city")
        response = client.post(
            "/admin/geo/house/add/",
            {"building": building.pk, "unit": building.units + 1, "floor": 1, "room": "x1"},
        )
        assert response.status_code == 200
        assert "单元应在" in response.content.decode()
        response = client.post(
            "/admin/geo/house/add/",
            {"building": building.pk, "unit": 1, "floor": 1, "room": "x1"},
        )
        assert response.status_code == 302
        house = House.objects.get(building=building, room="x1")
        assert house.code.startswith(building.code)
        assert AuditEvent.objects.filter(
            action="geo.house_create", object_id=str(house.pk)
        ).exists()


def test_room_grid_and_grid_page_query_counts_are_pinned(
    client_as, world, django_assert_max_num_queries
):
    building = _building(world["grid_a"])
    client = client_as("grid")
    client.get(f"/geo/buildings/{building.pk}/")  # warm the session and caches
    with django_assert_max_num_queries(6):
        assert client.get(f"/geo/buildings/{building.pk}/").status_code == 200
    client.get(f"/regions/{world['grid_a']}/")
    with django_assert_max_num_queries(14):
        assert client.get(f"/regions/{world['grid_a']}/").status_code == 200
