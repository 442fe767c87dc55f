"""Scope isolation: a grid worker of grid A cannot list or open anything of grid B."""

import pytest
from django.http import Http404
from django.utils.functional import SimpleLazyObject

from shequ.accounts.services import assignment_revoke
from shequ.core.scoping import (
    EVERYTHING,
    forget_assignments,
    get_scoped_or_404,
    has_perm,
    scope_codes,
    scoped,
    user_assignments,
)
from shequ.geo.models import Building, Estate, Region

pytestmark = pytest.mark.django_db


def region_codes(qs):
    return set(qs.values_list("region_code", flat=True))


def test_grid_worker_sees_only_their_grid(persona, world):
    buildings = scoped(Building.objects.all(), persona("grid"), "geo.view_building")
    assert region_codes(buildings) == {world["grid_a"]}
    other = Building.objects.filter(region_code=world["grid_b"]).first()
    with pytest.raises(Http404):
        get_scoped_or_404(Building.objects.all(), persona("grid"), "geo.view_building", pk=other.pk)
    mine = Building.objects.filter(region_code=world["grid_a"]).first()
    assert (
        get_scoped_or_404(Building.objects.all(), persona("grid"), "geo.view_building", pk=mine.pk)
        == mine
    )


def test_second_grid_worker_sees_only_grid_b(persona, world):
    buildings = scoped(Building.objects.all(), persona("grid2"), "geo.view_building")
    assert region_codes(buildings) == {world["grid_b"]}


def test_community_staff_see_both_grids_and_nothing_else(persona, world):
    codes = region_codes(scoped(Building.objects.all(), persona("community"), "geo.view_building"))
    assert {world["grid_a"], world["grid_b"]} <= codes
    assert all(code.startswith(world["community"]) for code in codes)


def test_township_officer_sees_own_township_only(persona, world):
    codes = region_codes(scoped(Building.objects.all(), persona("township"), "geo.view_building"))
    assert all(code.startswith(world["township"]) for code in codes)
    assert Building.objects.filter(region_code__startswith=world["other_township"]).exists()
    assert (
        scoped(Building.objects.all(), persona("township"), "geo.view_building").count()
        == Building.objects.filter(region_code__startswith=world["township"]).count()
    )


def test_city_operator_sees_everything(persona):
    qs = scoped(Building.objects.all(), persona("city"), "geo.view_building")
    assert qs.count() == Building.objects.count()


def test_superuser_sees_everything(persona):
    assert scope_codes(persona("admin"), "geo.view_building") is EVERYTHING


def test_resident_sees_no_territory_records(persona):
    assert not scoped(Building.objects.all(), persona("resident"), "geo.view_building").exists()


def test_property_staff_see_their_company_estates(persona):
    user = persona("property")
    estates = scoped(
        Estate.objects.all(), user, "geo.view_estate", company_field="property_company"
    )
    company = user.assignments.get().property_company
    assert estates.count() == Estate.objects.filter(property_company=company).count() > 0
    assert not estates.exclude(property_company=company).exists()


def test_permission_without_grant_sees_nothing(persona):
    assert not scoped(Building.objects.all(), persona("grid"), "people.reveal_id").exists()


def test_inactive_user_sees_nothing(persona):
    user = persona("city")
    user.is_active = False
    assert not scoped(Building.objects.all(), user, "geo.view_building").exists()
    assert not has_perm(user, "geo.browse")


def test_has_perm_checks_the_region(persona, world):
    user = persona("grid")
    assert has_perm(user, "geo.change_building", world["grid_a"])
    assert not has_perm(user, "geo.change_building", world["grid_b"])
    assert not has_perm(user, "geo.change_region", world["grid_a"])


class TestPages:
    def test_region_browser_hides_grid_b_from_grid_worker(self, client_as, world):
        client = client_as("grid")
        assert client.get(f"/regions/{world['grid_a']}/").status_code == 200
        assert client.get(f"/regions/{world['grid_b']}/").status_code == 404
        assert client.get(f"/regions/{world['community']}/").status_code == 404

    def test_community_staff_open_both_grids(self, client_as, world):
        client = client_as("community")
        for code in (world["grid_a"], world["grid_b"], world["community"]):
            assert client.get(f"/regions/{code}/").status_code == 200
        assert client.get(f"/regions/{world['township']}/").status_code == 404

    def test_township_officer_limited_to_township(self, client_as, world):
        client = client_as("township")
        assert client.get(f"/regions/{world['township']}/").status_code == 200
        other = Region.objects.filter(
            code__startswith=world["other_township"], level="community"
        ).first()
        assert client.get(f"/regions/{other.code}/").status_code == 404
        assert client.get(f"/regions/{world['other_township']}/").status_code == 404

    def test_resident_cannot_browse_regions(self, client_as, world):
        assert client_as("resident").get("/regions/").status_code == 404
        assert client_as("resident").get("/map/").status_code == 404


class TestAdminScoping:
    def test_community_staff_building_list_is_scoped(self, client_as, world):
        client = client_as("community")
        response = client.get("/admin/geo/building/", {"q": ""})
        assert response.status_code == 200
        shown = response.context["cl"].queryset
        assert shown.exists()
        assert all(code.startswith(world["community"]) for code in region_codes(shown))

    def test_grid_worker_has_no_admin_at_all(self, client_as, world):
        """Field roles edit on the scoped pages (/geo/buildings/…), never in the admin."""
        mine = Building.objects.filter(region_code=world["grid_a"]).first()
        response = client_as("grid").get(f"/admin/geo/building/{mine.pk}/change/", follow=True)
        assert response.status_code == 200
        assert not response.request["PATH_INFO"].startswith("/admin/")  # sent home
        assert "adminform" not in (response.context or {})

    def test_community_staff_cannot_open_another_communitys_building(self, client_as, world):
        other = Building.objects.exclude(region_code__startswith=world["community"]).first()
        client = client_as("community")
        response = client.get(f"/admin/geo/building/{other.pk}/change/")
        assert response.status_code == 302  # the admin's "object does not exist" redirect
        mine = Building.objects.filter(region_code=world["grid_a"]).first()
        assert client.get(f"/admin/geo/building/{mine.pk}/change/").status_code == 200

    def test_grid_choices_limited_to_scope(self, client_as, world):
        response = client_as("community").get("/admin/geo/building/add/")
        assert response.status_code == 200
        choices = response.context["adminform"].form.fields["grid"].queryset
        codes = set(choices.values_list("code", flat=True))
        assert world["grid_a"] in codes and world["grid_b"] in codes
        assert all(code.startswith(world["community"]) for code in codes)

    def test_community_staff_cannot_create_a_building_outside_their_scope(self, client_as, world):
        outside = Region.objects.filter(level="grid").exclude(code__startswith=world["community"])
        grid = outside.first()
        response = client_as("community").post(
            "/admin/geo/building/add/",
            {
                "code": grid.code + "9999",
                "grid": grid.pk,
                "name": "X",
                "address": "X",
                "lat": 32.0,
                "lng": 119.6,
                "floors": 6,
                "units": 1,
            },
        )
        assert response.status_code == 200  # form error: grid not a valid choice
        assert not Building.objects.filter(code=grid.code + "9999").exists()

    def test_community_staff_cannot_edit_regions(self, client_as, world):
        grid = Region.objects.get(code=world["grid_a"])
        response = client_as("community").post(
            f"/admin/geo/region/{grid.pk}/change/",
            {
                "code": grid.code,
                "name": "改名",
                "level": "grid",
                "kind": "grid",
                "parent": grid.parent_id,
                "polygon": "null",
            },
        )
        assert response.status_code == 403
        grid.refresh_from_db()
        assert grid.name != "改名"

    def test_resident_has_no_admin(self, client_as):
        response = client_as("resident").get("/admin/")
        assert response.status_code == 302


def test_a_revoked_role_stops_at_once_also_through_a_lazy_request_user(persona, world):
    """The assignments cached for the request are dropped when a grant changes, even when the
    user object is request.user's lazy wrapper."""
    worker = persona("grid")
    lazy = SimpleLazyObject(lambda: worker)
    assert user_assignments(lazy)  # cached on the user behind the wrapper
    assignment = worker.assignments.get(is_active=True)
    assignment_revoke(assignment=assignment)
    assert user_assignments(lazy) == []
    assert set(scoped(Building.objects.all(), lazy, "geo.view_building").values_list("pk")) == set()
    # forgetting through the wrapper clears the cache on the user behind it
    worker.assignments.filter(pk=assignment.pk).update(is_active=True)
    forget_assignments(lazy)
    assert user_assignments(lazy)
    worker.assignments.filter(pk=assignment.pk).update(is_active=False)
    forget_assignments(lazy)
    assert user_assignments(lazy) == []
    assert set(scoped(Building.objects.all(), lazy, "geo.view_building").values_list("pk")) == set()
