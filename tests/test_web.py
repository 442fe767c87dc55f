"""The web shell: a home page per role, navigation without dead links, elder mode, the region
browser and its htmx fragment, the map page."""

import re

import pytest

from shequ.accounts.models import User
from shequ.geo.models import Building, House, Region

pytestmark = pytest.mark.django_db

HOMES = {
    "city": "city_operator",
    "township": "township_officer",
    "community": "community_staff",
    "grid": "grid_worker",
    "grid2": "grid_worker",
    "resident": "resident",
    "property": "property_staff",
    "auditor": "auditor",
}


@pytest.mark.parametrize(("username", "home"), HOMES.items())
def test_each_role_gets_its_home(client_as, username, home):
    response = client_as(username).get("/")
    assert response.status_code == 200
    assert f'data-home="{home}"' in response.content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("username", [*HOMES, "admin"])
def test_navigation_has_no_dead_links(client_as, username):
    client = client_as(username)
    html = client.get("/").content.decode()
    links = set(re.findall(r'<a class="tile" href="([^"]+)"', html))
    for href in links:
        response = client.get(href)
        assert response.status_code == 200, (username, href, response.status_code)


def test_resident_sees_no_staff_tools(client_as):
    html = client_as("resident").get("/").content.decode()
    assert "/map/" not in html and "/admin/" not in html
    assert "张网格" in html  # their grid worker


def test_grid_worker_home_shows_grid_counts(client_as, world):
    html = client_as("grid").get("/").content.decode()
    houses = House.objects.filter(region_code=world["grid_a"]).count()
    assert f"<dd>{houses}</dd>" in html
    assert world["grid_a"] in html


def test_property_home_lists_company_estates(client_as, persona):
    user = persona("property")
    company = user.assignments.get().property_company
    html = client_as("property").get("/").content.decode()
    for estate in company.estates.all()[:3]:
        assert estate.name in html


def test_elder_mode_is_remembered_per_user(client_as):
    client = client_as("resident")
    assert 'class="elder-mode"' not in client.get("/").content.decode()
    response = client.post("/elder-mode/", {"next": "/"})
    assert response.status_code == 302
    assert User.objects.get(username="resident").elder_mode is True
    assert 'class="elder-mode"' in client.get("/").content.decode()
    client.post("/elder-mode/", {"next": "/"})
    assert User.objects.get(username="resident").elder_mode is False


def test_elder_mode_for_anonymous_uses_a_cookie(client):
    client.post("/elder-mode/", {"next": "/login/"})
    assert 'class="elder-mode"' in client.get("/login/").content.decode()


def test_elder_mode_refuses_offsite_redirect(client_as):
    response = client_as("resident").post("/elder-mode/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_role_switch(client_as, persona, world):
    user = persona("community")
    from shequ.accounts.models import Assignment

    Assignment.objects.create(
        user=user, role="grid_worker", region=Region.objects.get(code=world["grid_a"])
    )
    client = client_as("community")
    assert 'data-home="community_staff"' in client.get("/").content.decode()
    client.post("/switch-role/", {"role": "grid_worker"})
    assert 'data-home="grid_worker"' in client.get("/").content.decode()
    client.post("/switch-role/", {"role": "city_operator"})  # not theirs: ignored
    assert 'data-home="grid_worker"' in client.get("/").content.decode()


def test_region_browser_counts(client_as, world):
    response = client_as("township").get(f"/regions/{world['township']}/")
    assert response.status_code == 200
    rows = {row["region"].code: row for row in response.context["children"]}
    flagship = rows[world["community"]]
    assert (
        flagship["grids"]
        == Region.objects.filter(code__startswith=world["community"], level="grid").count()
    )
    assert (
        flagship["buildings"]
        == Building.objects.filter(region_code__startswith=world["community"]).count()
    )
    assert (
        flagship["houses"]
        == House.objects.filter(region_code__startswith=world["community"]).count()
    )


def test_region_browser_htmx_returns_fragment(client_as, world):
    response = client_as("community").get(
        f"/regions/{world['grid_a']}/", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="region-panel">')
    assert "<html" not in html


def test_region_browser_query_count_is_constant(client_as, world, django_assert_max_num_queries):
    client = client_as("city")
    client.get("/regions/")
    with django_assert_max_num_queries(12):
        response = client.get(f"/regions/{world['city']}/")
    assert response.status_code == 200


def test_map_page_has_config_and_no_inline_script(client_as):
    response = client_as("community").get("/map/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="map-config"' in html
    scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert scripts == []
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp


def test_language_switch_to_english(client_as):
    client = client_as("city")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert client.get("/").content.decode().count('lang="en"') == 1
