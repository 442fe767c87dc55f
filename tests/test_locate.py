"""locate(): compared with brute-force polygon containment, at boundaries, outside the city,
with GCJ-02 and BD-09 input; the HTTP endpoint and its bad-input answers."""

import dataclasses
import math
import random

import pytest
import shapely

from shequ.core.errors import InvalidInput
from shequ.core.regions import Level
from shequ.geo import coords
from shequ.geo.locate import NEAR_BOUNDARY_METRES, get_index, locate, locate_many
from shequ.geo.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def grid_shapes(world):
    return {
        code: shapely.geometry.shape(polygon)
        for code, polygon in Region.objects.filter(level=Level.GRID).values_list("code", "polygon")
    }


def brute_force(shapes, lat, lng):
    point = shapely.Point(lng, lat)
    hits = sorted(code for code, shape in shapes.items() if shape.covers(point))
    return hits[0] if hits else None


def test_locate_matches_brute_force_on_random_points(grid_shapes):
    rng = random.Random(7)
    points = [(rng.uniform(31.70, 32.16), rng.uniform(119.38, 119.92)) for _ in range(600)]
    inside = 0
    for lat, lng in points:
        expected = brute_force(grid_shapes, lat, lng)
        assert locate(lat, lng).grid_code == expected, (lat, lng)
        inside += expected is not None
    assert inside > 300  # most random points fall inside the city


def test_locate_many_equals_single_calls(grid_shapes):
    rng = random.Random(11)
    lats = [rng.uniform(31.70, 32.16) for _ in range(500)]
    lngs = [rng.uniform(119.38, 119.92) for _ in range(500)]
    assert locate_many(lats, lngs) == [
        locate(a, b).grid_code for a, b in zip(lats, lngs, strict=True)
    ]


def test_point_on_shared_boundary_reports_neighbour(world, grid_shapes):
    a = grid_shapes[world["grid_a"]]
    neighbour = next(
        code
        for code, shape in grid_shapes.items()
        if code != world["grid_a"] and a.intersection(shape).length > 0.001
    )
    edge = a.intersection(grid_shapes[neighbour])
    point = edge.interpolate(0.5, normalized=True)
    result = locate(point.y, point.x)
    assert result.grid_code in (world["grid_a"], neighbour)
    other = neighbour if result.grid_code == world["grid_a"] else world["grid_a"]
    assert other in result.near_boundary


def test_near_boundary_uses_metres(world, grid_shapes):
    """10 m from a neighbouring grid lists it; 60 m away does not."""
    projection = get_index().projection
    a = grid_shapes[world["grid_a"]]
    neighbour, edge = max(
        (
            (code, a.intersection(shape))
            for code, shape in grid_shapes.items()
            if code != world["grid_a"]
        ),
        key=lambda pair: pair[1].length if "Line" in pair[1].geom_type else 0,
    )
    edge = shapely.line_merge(edge) if edge.geom_type != "LineString" else edge
    if edge.geom_type != "LineString":
        edge = max(edge.geoms, key=lambda g: g.length)
    mid = edge.interpolate(0.5, normalized=True)
    # Direction pointing into grid A, perpendicular to the shared edge, in metres.
    before = edge.interpolate(edge.project(mid) - 1e-5)
    after = edge.interpolate(edge.project(mid) + 1e-5)
    (x0, y0), (x1, y1) = (before.x, before.y), (after.x, after.y)
    ex, ey = (
        (x1 - x0) * projection.metres_per_degree_lng,
        (y1 - y0) * projection.metres_per_degree_lat,
    )
    norm = math.hypot(ex, ey)
    nx, ny = -ey / norm, ex / norm
    probe = shapely.Point(
        mid.x + nx * 5 / projection.metres_per_degree_lng,
        mid.y + ny * 5 / projection.metres_per_degree_lat,
    )
    if not a.contains(probe):
        nx, ny = -nx, -ny

    def at(metres):
        return (
            mid.y + ny * metres / projection.metres_per_degree_lat,
            mid.x + nx * metres / projection.metres_per_degree_lng,
        )

    near = locate(*at(10))
    assert near.grid_code == world["grid_a"]
    assert neighbour in near.near_boundary
    away = locate(*at(60))
    assert away.grid_code == world["grid_a"]
    assert neighbour not in away.near_boundary
    assert NEAR_BOUNDARY_METRES == 30


def test_outside_the_city_has_no_grid_and_a_reason():
    result = locate(39.9042, 116.4074)  # Beijing
    assert result.grid_code is None
    assert "不在丹阳市" in result.reason
    assert result.near_boundary == []


def test_gcj02_and_bd09_input_are_converted(world, grid_shapes):
    centre = grid_shapes[world["grid_a"]].representative_point()
    gcj = coords.wgs84_to_gcj02(centre.y, centre.x)
    assert math.dist(gcj, (centre.y, centre.x)) > 0.001  # the offset is real (hundreds of m)
    assert locate(*gcj, crs="gcj02").grid_code == world["grid_a"]
    bd = coords.gcj02_to_bd09(*gcj)
    result = locate(*bd, crs="bd09")
    assert result.grid_code == world["grid_a"]
    assert abs(result.lat - centre.y) < 1e-6 and abs(result.lng - centre.x) < 1e-6


def test_gcj02_round_trip_accuracy():
    rng = random.Random(3)
    for _ in range(200):
        lat, lng = rng.uniform(20, 45), rng.uniform(100, 125)
        back = coords.gcj02_to_wgs84(*coords.wgs84_to_gcj02(lat, lng))
        assert abs(back[0] - lat) < 1e-7 and abs(back[1] - lng) < 1e-7


@pytest.mark.parametrize(
    ("lat", "lng", "crs", "code"),
    [
        ("abc", "119.5", "wgs84", "invalid_coordinate"),
        ("nan", "119.5", "wgs84", "invalid_coordinate"),
        ("inf", "119.5", "wgs84", "invalid_coordinate"),
        ("91", "119.5", "wgs84", "invalid_coordinate"),
        ("32", "-181", "wgs84", "invalid_coordinate"),
        ("32", "119.5", "utm", "invalid_crs"),
    ],
)
def test_bad_input_is_refused(lat, lng, crs, code):
    with pytest.raises(InvalidInput) as info:
        locate(lat, lng, crs)
    assert info.value.code == code


def test_index_rebuilds_when_grids_change(world):
    before = get_index()
    grid = Region.objects.get(code=world["grid_a"])
    grid.name = "改名网格"
    grid.save()
    after = get_index()
    assert after is not before
    assert after.names[after.codes.index(world["grid_a"])] == "改名网格"


def test_other_processes_see_changes_through_the_version_stamp(world, monkeypatch):
    from shequ.geo import locate as module

    stale = dataclasses.replace(get_index(), version=-1)  # built before another process's change
    monkeypatch.setattr(module, "_index", stale)
    monkeypatch.setattr(module, "_checked_at", 0.0)  # … and its check interval has passed
    assert get_index() is not stale
    assert get_index().version == module._db_version()


class TestLocateApi:
    def test_locate_returns_grid(self, api_client_as, world, grid_shapes):
        centre = grid_shapes[world["grid_a"]].representative_point()
        response = api_client_as("grid").get(
            "/api/v1/geo/locate", {"lat": centre.y, "lng": centre.x}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["grid"]["code"] == world["grid_a"]
        assert body["community_code"] == world["community"]
        assert response["Content-Type"].startswith("application/json")

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"lat": "x", "lng": "119.5"}, "lat"),
            ({"lat": "NaN", "lng": "119.5"}, "lat"),
            ({"lat": "32", "lng": "1e999"}, "lng"),
            ({"lat": "32", "lng": "119.5", "crs": "epsg:4326"}, "crs"),
        ],
    )
    def test_bad_input_is_400_with_chinese_message(self, api_client_as, params, field):
        response = api_client_as("grid").get("/api/v1/geo/locate", params)
        assert response.status_code == 400
        body = response.json()
        assert body["details"]["field"] == field
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])

    def test_missing_parameter_is_400(self, api_client_as):
        response = api_client_as("grid").get("/api/v1/geo/locate", {"lat": "32"})
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "validation_error"
        assert body["details"][0]["field"] == "lng"
        assert body["details"][0]["message"] == "必填"

    def test_outside_city_is_200_with_null_grid(self, api_client_as):
        response = api_client_as("grid").get("/api/v1/geo/locate", {"lat": 31.23, "lng": 121.47})
        assert response.status_code == 200
        assert response.json()["grid"] is None
        assert response.json()["reason"]

    def test_requires_authentication(self, client):
        response = client.get("/api/v1/geo/locate", {"lat": 32, "lng": 119.5})
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"

    def test_grids_geojson(self, api_client_as, world):
        response = api_client_as("city").get(
            "/api/v1/geo/grids.geojson", {"within": world["community"]}
        )
        assert response.status_code == 200
        data = response.json()
        assert data["type"] == "FeatureCollection"
        codes = {f["properties"]["code"] for f in data["features"]}
        assert world["grid_a"] in codes and world["grid_b"] in codes
        assert all(code.startswith(world["community"]) for code in codes)
        feature = next(f for f in data["features"] if f["properties"]["code"] == world["grid_a"])
        assert feature["properties"]["community_code"] == world["community"]
        assert feature["properties"]["grid_workers"] == ["张网格"]
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        everything = api_client_as("city").get("/api/v1/geo/grids.geojson").json()
        assert len(everything["features"]) == Region.objects.filter(level="grid").count()

    def test_grids_geojson_rejects_bad_region_code(self, api_client_as):
        response = api_client_as("city").get("/api/v1/geo/grids.geojson", {"within": "12ab"})
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_region_code"
