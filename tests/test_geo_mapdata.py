"""The maps' data: the scoped estates-and-buildings endpoint, the page configuration (first view,
the user's own grid and house), and the tile base layer setting with its CSP entry."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from shequ.geo import mapdata
from shequ.geo.models import Building, Estate, Region
from tests.support.factories import make_person

ROOT = Path(__file__).resolve().parent.parent
URL = "/api/v1/geo/map/features"
BUILDING_KEYS = {"id", "code", "name", "estate", "lat", "lng", "rural", "url"}
ESTATE_KEYS = {"id", "name", "kind", "lat", "lng", "outline", "buildings"}
TIANDITU = (
    "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk=test-key"
)


def bbox_around(*codes: str, margin: float = 0.002) -> str:
    """west,south,east,north around the polygons of the given regions."""
    bounds = mapdata._polygon_bounds(r.polygon for r in Region.objects.filter(code__in=codes))
    (south, west), (north, east) = bounds
    return f"{west - margin},{south - margin},{east + margin},{north + margin}"


def features(client, bbox: str, zoom=16):
    response = client.get(URL, {"bbox": bbox, "zoom": zoom})
    assert response.status_code == 200, response.content
    return response.json()


def map_config_of(response) -> dict:
    match = re.search(
        r'<script id="map-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page has no map-config"
    return json.loads(match.group(1))


# --- scope ---------------------------------------------------------------------------------


def test_grid_worker_gets_only_their_grids_buildings(client_as, world):
    bbox = bbox_around(world["grid_a"], world["grid_b"])
    in_b = Building.objects.filter(region_code=world["grid_b"]).count()
    assert in_b and Building.objects.filter(region_code=world["grid_a"]).exists()

    data = features(client_as("grid"), bbox)
    own = {b.pk for b in Building.objects.filter(region_code=world["grid_a"])}
    assert {b["id"] for b in data["buildings"]} == own
    assert {e["id"] for e in data["estates"]} == set(
        Estate.objects.filter(region_code=world["grid_a"]).values_list("pk", flat=True)
    )

    other = features(client_as("grid2"), bbox)
    assert {b["id"] for b in other["buildings"]} == set(
        Building.objects.filter(region_code=world["grid_b"]).values_list("pk", flat=True)
    )
    assert not own & {b["id"] for b in other["buildings"]}


def test_community_staff_see_every_grid_of_the_community_with_room_links(client_as, world):
    bbox = bbox_around(world["grid_a"], world["grid_b"])
    data = features(client_as("community"), bbox)
    grids = set(
        Building.objects.filter(pk__in=[b["id"] for b in data["buildings"]]).values_list(
            "region_code", flat=True
        )
    )
    assert {world["grid_a"], world["grid_b"]} <= grids
    assert all(b["url"] == f"/people/buildings/{b['id']}/" for b in data["buildings"])


def test_resident_gets_their_grids_names_and_positions_and_no_person_data(
    client_as, persona, world
):
    resident = persona("resident")
    house = Building.objects.filter(region_code=world["grid_a"]).first().houses.first()
    make_person(house=house, name="刘居民", user=resident, mobile="19900000006")
    make_person(house=house, name="刘家人")
    data = features(client_as("resident"), bbox_around(world["grid_a"], world["grid_b"]))

    assert data["buildings"], "the resident sees the buildings of their grid"
    assert {
        b.region_code for b in Building.objects.filter(pk__in=[b["id"] for b in data["buildings"]])
    } == {world["grid_a"]}
    for building in data["buildings"]:
        assert set(building) == BUILDING_KEYS
        assert building["url"] is None  # no room grid (it lists the people) for a resident
    for estate in data["estates"]:
        assert set(estate) == ESTATE_KEYS
    text = json.dumps(data, ensure_ascii=False)
    assert "刘" not in text and "19900000006" not in text and "people" not in text


def test_users_without_map_scope_get_nothing_and_anonymous_is_refused(client, client_as, world):
    bbox = bbox_around(world["grid_a"], world["grid_b"])
    # The auditor browses regions but has no building permission.
    data = features(client_as("auditor"), bbox)
    assert data["buildings"] == [] and data["estates"] == []
    assert client.get(URL, {"bbox": bbox, "zoom": 16}).status_code == 401


def test_property_staff_see_their_companys_estates(client_as, persona):
    company = persona("property").assignments.get().property_company
    estates = set(Estate.objects.filter(property_company=company).values_list("pk", flat=True))
    building = Building.objects.filter(estate_id__in=estates).first()
    bbox = f"{building.lng - 0.002},{building.lat - 0.002},{building.lng + 0.002},{building.lat + 0.002}"
    data = features(client_as("property"), bbox)
    assert data["buildings"]
    ids = {b["id"] for b in data["buildings"]}
    assert set(Building.objects.filter(pk__in=ids).values_list("estate_id", flat=True)) <= estates


def test_estates_from_zoom_13_buildings_from_zoom_14(client_as, world):
    client = client_as("community")
    bbox = bbox_around(world["community"])
    far = features(client, bbox, zoom=12)
    assert far["estates"] == [] and far["buildings"] == []
    estates_only = features(client, bbox, zoom=13)
    assert estates_only["estates"] and estates_only["buildings"] == []
    close = features(client, bbox, zoom=14)
    assert close["estates"] and close["buildings"]
    assert close["truncated"] is False


def test_estate_outline_surrounds_its_buildings():
    points = [(32.0, 119.6), (32.001, 119.6), (32.0, 119.601), (32.001, 119.601)]
    ring = mapdata._outline(points)
    lats = [p[0] for p in ring]
    lngs = [p[1] for p in ring]
    assert ring[0] == ring[-1]
    assert min(lats) < 32.0 and max(lats) > 32.001 and min(lngs) < 119.6 and max(lngs) > 119.601
    assert mapdata._outline(points[:2]) is None


def test_buildings_are_capped_and_the_answer_says_so(client_as, world, monkeypatch):
    monkeypatch.setattr(mapdata, "MAX_BUILDINGS", 2)
    data = features(client_as("community"), bbox_around(world["community"]))
    assert len(data["buildings"]) == 2 and data["truncated"] is True


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"bbox": "abc", "zoom": "16"}, "invalid_bbox"),
        ({"bbox": "119.5,32.0,119.6", "zoom": "16"}, "invalid_bbox"),
        ({"bbox": "119.6,32.0,119.5,32.1", "zoom": "16"}, "invalid_bbox"),  # west > east
        ({"bbox": "119.5,32.1,119.6,32.0", "zoom": "16"}, "invalid_bbox"),  # south > north
        ({"bbox": "nan,32.0,119.6,32.1", "zoom": "16"}, "invalid_bbox"),
        ({"bbox": "119.5,32.0,inf,32.1", "zoom": "16"}, "invalid_bbox"),
        ({"bbox": "-200,32.0,119.6,32.1", "zoom": "16"}, "invalid_bbox"),
        ({"bbox": "119.5,-95,119.6,32.1", "zoom": "16"}, "invalid_bbox"),
        ({"bbox": "118.0,31.0,119.9,32.2", "zoom": "16"}, "bbox_too_large"),
        ({"bbox": "119.5,32.0,119.6,32.1", "zoom": "abc"}, "invalid_zoom"),
        ({"bbox": "119.5,32.0,119.6,32.1", "zoom": "-1"}, "invalid_zoom"),
        ({"bbox": "119.5,32.0,119.6,32.1", "zoom": "15.5"}, "invalid_zoom"),
        ({"bbox": "119.5,32.0,119.6,32.1", "zoom": "23"}, "invalid_zoom"),
        ({"bbox": "119.5,32.0,119.6,32.1", "zoom": "１６"}, "invalid_zoom"),  # full-width digits
        ({"bbox": "119.5,32.0,119.6,32.1"}, "validation_error"),
        ({"zoom": "16"}, "validation_error"),
    ],
)
def test_bad_bbox_or_zoom_is_a_400_with_a_code(client_as, params, code):
    response = client_as("grid").get(URL, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"] and set(body) == {"code", "message", "details"}


# --- the page configuration ----------------------------------------------------------------


def test_grid_workers_map_opens_on_their_grid(client_as, world):
    config = map_config_of(client_as("grid").get("/map/"))
    grid = Region.objects.get(code=world["grid_a"])
    assert config["bounds"] == mapdata._polygon_bounds([grid.polygon])
    assert config["mine"]["grids"] == [world["grid_a"]]
    assert config["within"] == world["community"]  # the neighbouring grids are drawn too
    assert config["featuresUrl"] == URL


def test_community_staffs_map_opens_on_their_community(client_as, world):
    config = map_config_of(client_as("community").get("/map/"))
    community = Region.objects.get(code=world["community"])
    assert config["bounds"] == mapdata._polygon_bounds([community.polygon])
    assert config["mine"]["regions"] == [world["community"]]


def test_residents_report_map_opens_on_their_grid_with_their_house(client_as, persona, world):
    house = Building.objects.filter(region_code=world["grid_a"]).first().houses.first()
    make_person(house=house, name="刘居民", user=persona("resident"))
    config = map_config_of(client_as("resident").get("/cases/report/"))
    grid = Region.objects.get(code=world["grid_a"])
    assert config["bounds"] == mapdata._polygon_bounds([grid.polygon])
    assert config["mine"]["grids"] == [world["grid_a"]]
    home = config["mine"]["house"]
    assert home["building"] == house.building_id
    assert (home["lat"], home["lng"]) == (house.building.lat, house.building.lng)
    assert home["label"] == str(house)


def test_hotline_and_case_maps_carry_the_same_configuration(client_as):
    config = map_config_of(client_as("community").get("/cases/hotline/"))
    assert config["pick"] is True and config["featuresUrl"] == URL and config["tiles"] == []


# --- the tile base layer -------------------------------------------------------------------


def test_offline_by_default_no_tiles_in_the_config_or_the_csp(client_as):
    response = client_as("grid").get("/map/")
    config = map_config_of(response)
    assert config["tiles"] == [] and config["tileAttribution"] == ""
    img_src = re.search(r"img-src ([^;]*)", response["Content-Security-Policy"]).group(1)
    assert img_src.split() == ["'self'", "data:", "blob:"]


@override_settings(SHEQU_MAP_TILES=[TIANDITU], SHEQU_MAP_TILE_ATTRIBUTION="© 天地图")
def test_a_configured_tile_layer_reaches_every_map_page(client_as):
    for username, path in [
        ("grid", "/map/"),
        ("resident", "/cases/report/"),
        ("community", "/cases/hotline/"),
    ]:
        config = map_config_of(client_as(username).get(path))
        assert config["tiles"] == [TIANDITU], path
        assert config["tileAttribution"] == "© 天地图"


def run_settings(code: str, **env) -> subprocess.CompletedProcess:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHEQU_") and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    environment.update(SHEQU_ENV="demo", DJANGO_SETTINGS_MODULE="shequ.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


CSP_HEADER = """
from django.http import HttpResponse
from django.middleware.csp import ContentSecurityPolicyMiddleware
from django.test import RequestFactory
from django.conf import settings
response = ContentSecurityPolicyMiddleware(lambda r: HttpResponse("ok"))(RequestFactory().get("/"))
print(response["Content-Security-Policy"])
print(settings.SHEQU_MAP_TILES)
"""


def test_the_csp_allows_the_tile_host_only_when_a_tile_url_is_set(tmp_path):
    labels = "https://t0.tianditu.gov.cn/cva_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k"
    configured = run_settings(
        CSP_HEADER, SHEQU_VAR_DIR=str(tmp_path), SHEQU_MAP_TILE_URL=f"{TIANDITU}  {labels}"
    )
    assert configured.returncode == 0, configured.stderr
    header, tiles = configured.stdout.splitlines()
    img_src = re.search(r"img-src ([^;]*)", header).group(1).split()
    assert "https://*.tianditu.gov.cn" in img_src and "https://t0.tianditu.gov.cn" in img_src
    assert "connect-src 'self'" in header and "script-src 'self'" in header
    assert TIANDITU in tiles and labels in tiles

    offline = run_settings(CSP_HEADER, SHEQU_VAR_DIR=str(tmp_path))
    assert offline.returncode == 0, offline.stderr
    header = offline.stdout.splitlines()[0]
    assert "tianditu" not in header
    assert re.search(r"img-src ([^;]*)", header).group(1).split() == ["'self'", "data:", "blob:"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://tiles.example.cn/{z}/{x}/{y}.png",
        "https://tiles.example.cn/{z}/{x}.png",
        "https://tiles.example.cn/{z}/{x}/{y}.png?key={key}",
        "https://a.{s}.example.cn/{z}/{x}/{y}.png",
        "tiles.example.cn/{z}/{x}/{y}.png",
    ],
)
def test_a_bad_tile_url_stops_start_up_with_a_clear_message(tmp_path, url):
    result = run_settings("print('ok')", SHEQU_VAR_DIR=str(tmp_path), SHEQU_MAP_TILE_URL=url)
    assert result.returncode != 0
    assert "SHEQU_MAP_TILE_URL" in result.stderr


def test_production_needs_https_tiles(tmp_path):
    from shequ.settings import map_tile_layers

    with pytest.raises(Exception, match="https"):
        map_tile_layers("http://tiles.example.cn/{z}/{x}/{y}.png", require_https=True)
    assert map_tile_layers("http://tiles.example.cn/{z}/{x}/{y}.png", require_https=False)
