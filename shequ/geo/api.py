"""Geo API: locate a point, grid polygons as GeoJSON."""

from django.utils.translation import gettext as _
from ninja import Router, Schema

from shequ.core.errors import InvalidInput
from shequ.core.regions import Level
from shequ.geo import locate as locate_module
from shequ.geo import mapdata
from shequ.geo.models import Region
from shequ.geo.selectors import parse_region_code, regions_geojson

API_PREFIX = "/geo/"
router = Router(tags=["geo"])


class GridRef(Schema):
    code: str
    name: str


class LocateOut(Schema):
    lat: float
    lng: float
    crs: str = "wgs84"
    grid: GridRef | None
    community_code: str | None
    near_boundary: list[GridRef]
    reason: str | None


@router.get("/locate", response=LocateOut, summary="定位：坐标所在网格")
def locate_point(request, lat: str, lng: str, crs: str = "wgs84"):
    """Return the grid containing (lat, lng); `crs` is wgs84 (default), gcj02 or bd09.

    Points within 30 m of another grid list it in `near_boundary`; a point outside Danyang
    returns `grid: null` with a `reason`.
    """
    result = locate_module.locate(lat, lng, crs)
    names = dict(Region.objects.filter(code__in=result.near_boundary).values_list("code", "name"))
    return {
        "lat": result.lat,
        "lng": result.lng,
        "grid": {"code": result.grid_code, "name": result.grid_name} if result.grid_code else None,
        "community_code": result.community_code,
        "near_boundary": [{"code": c, "name": names.get(c, "")} for c in result.near_boundary],
        "reason": result.reason,
    }


@router.get("/grids.geojson", summary="网格边界（GeoJSON）")
def grids_geojson(request, within: str | None = None):
    """FeatureCollection of grids (code, name, community_code, grid workers), WGS-84."""
    if within is not None:
        parse_region_code(within)
    return regions_geojson(level=Level.GRID, within=within)


@router.get("/regions.geojson", summary="镇/街道、社区边界（GeoJSON）")
def regions_layer(request, level: str = Level.TOWNSHIP, within: str | None = None):
    if level not in (Level.TOWNSHIP, Level.COMMUNITY, Level.GRID):
        raise InvalidInput(
            _("level 应为 township、community 或 grid。"),
            code="invalid_level",
            details={"field": "level"},
        )
    if within is not None:
        parse_region_code(within)
    return regions_geojson(level=level, within=within)


class MapEstate(Schema):
    id: int
    name: str
    kind: str
    lat: float
    lng: float
    outline: list[list[float]] | None
    buildings: int


class MapBuilding(Schema):
    id: int
    code: str
    name: str
    estate: int | None
    lat: float
    lng: float
    rural: bool
    url: str | None


class MapFeaturesOut(Schema):
    bbox: list[float]
    zoom: int
    estates: list[MapEstate]
    buildings: list[MapBuilding]
    truncated: bool


@router.get("/map/features", response=MapFeaturesOut, summary="地图要素：视图内的小区与楼栋")
def map_features(request, bbox: str, zoom: str):
    """Estates (zoom ≥ 13) and buildings (zoom ≥ 14) inside `bbox` = `west,south,east,north`
    (WGS-84, each side at most 0.5°), limited to the caller's scope: staff their scope, property
    staff their estates, residents their own grid. Names and positions only — no person data.
    `truncated` says that more features exist than were returned (zoom in)."""
    return mapdata.map_features(request.user, bbox=bbox, zoom=zoom)
