"""What the maps draw beyond the grid polygons: the page configuration (base layer, the first
view, the user's own grids and house) and the estates and buildings in view.

Maps work offline; a tile base layer is drawn only when `SHEQU_MAP_TILE_URL` is set. Estates and
buildings are loaded per view (`map_features`, at street zoom) so that a page never carries a
whole township's buildings. Scope: staff see the estates and buildings of their scope (property
staff those of the estates their company manages); a resident sees those of their own grid —
names and positions only, never anything about the people living there.
"""

import math
from dataclasses import dataclass

import shapely
from django.apps import apps
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from shequ.core.errors import InvalidInput
from shequ.core.regions import CODE_LENGTHS, Level
from shequ.core.roles import Role, role_grants
from shequ.core.scoping import EVERYTHING, has_perm, prefix_q, scope_q, user_assignments
from shequ.geo.locate import get_index
from shequ.geo.models import Building, Estate, Region

OWN_GRID_PERM = "geo.map_own_grid"  # residents: the public features of their own grid
BUILDING_PERM = "geo.view_building"
ESTATE_PERM = "geo.view_estate"
BUILDING_ROOMS_PERM = "people.view_person"

# Zoom levels (web mercator) from which each layer is drawn; the client hides labels below them.
ZOOMS = {
    "communityLabels": 11,
    "gridLabels": 13,
    "estates": 13,
    "buildings": 14,
    "buildingLabels": 16,
}
MAX_ZOOM = 22
MAX_BBOX_DEGREES = 0.5  # ≈ 50 km: more than any screen shows at the estates' zoom
MAX_BUILDINGS = 2000
MAX_ESTATES = 500
ESTATE_MARGIN_METRES = 25.0  # the outline drawn around an estate's buildings
GRID_SEARCH_MARGIN_DEGREES = 0.003  # ≈ 300 m: buildings drawn just outside their grid polygon


# --- the page configuration -----------------------------------------------------------------


def tile_config() -> dict:
    """The base layer(s), as the map scripts expect them (empty: offline)."""
    return {
        "tiles": list(settings.SHEQU_MAP_TILES),
        "tileSubdomains": settings.SHEQU_MAP_TILE_SUBDOMAINS,
        "tileAttribution": settings.SHEQU_MAP_TILE_ATTRIBUTION,
    }


def _polygon_bounds(polygons) -> list[list[float]] | None:
    """[[south, west], [north, east]] of GeoJSON polygons (None when there are none)."""
    lats: list[float] = []
    lngs: list[float] = []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            lngs.append(float(coords[0]))
            lats.append(float(coords[1]))
        else:
            for c in coords or ():
                walk(c)

    for polygon in polygons:
        if polygon:
            walk(polygon.get("coordinates"))
    if not lats:
        return None
    return [[min(lats), min(lngs)], [max(lats), max(lngs)]]


def _common_prefix(codes: list[str]) -> str:
    """The deepest region containing every code ("" when they share no city)."""
    common = codes[0]
    for code in codes[1:]:
        while common and not code.startswith(common):
            shorter = [n for n in CODE_LENGTHS.values() if n < len(common)]
            common = common[: max(shorter)] if shorter else ""
    return common


def my_house(user) -> dict | None:
    """The user's own house from the registry link (Person.user), for the 'home' marker."""
    if not getattr(user, "is_authenticated", False) or not apps.is_installed("shequ.people"):
        return None
    from shequ.people.models import Person  # noqa: PLC0415 - upward, behind is_installed

    person = (
        Person.objects.filter(user=user, house__isnull=False)
        .select_related("house__building__estate")
        .only(
            "region_code",
            "house__unit",
            "house__room",
            "house__building__id",
            "house__building__name",
            "house__building__address",
            "house__building__lat",
            "house__building__lng",
            "house__building__is_rural_house",
            "house__building__estate__name",
        )
        .first()
    )
    if person is None or person.house is None:  # (house__isnull=False)
        return None
    house = person.house
    building = house.building
    return {
        "lat": building.lat,
        "lng": building.lng,
        "building": building.pk,
        "grid": house.region_code,
        "label": str(house),
    }


@dataclass
class HomeView:
    """Where a user's map opens and what is theirs on it."""

    bounds: list[list[float]] | None
    within: str  # the grids to load: this region's (its community at most deep)
    grids: list[str]  # highlighted: a grid worker's grids, a resident's grid
    regions: list[str]  # highlighted: a community's or township's outline
    house: dict | None


def home_view(user, focus: Region | None = None) -> HomeView:
    """A grid worker's map opens on their grids, a resident's on their grid and house,
    community staff on their community, property staff on their estates; `focus` (e.g. a case's
    grid) overrides the first view."""
    house = my_house(user)
    staff = [a for a in user_assignments(user) if a.region_id and a.role != Role.RESIDENT]
    resident = [a for a in user_assignments(user) if a.region_id and a.role == Role.RESIDENT]
    own_grids = sorted(
        {a.region.code for a in staff if a.region.level == Level.GRID}
        | {a.region.code for a in resident if a.region.level == Level.GRID}
        | ({house["grid"]} if house else set())
    )
    regions = sorted({a.region.code for a in staff if a.region.level != Level.GRID})
    if focus is not None:
        view_regions = [focus]
    elif staff:
        view_regions = [a.region for a in staff]
    elif house:
        view_regions = list(Region.objects.filter(code=house["grid"]))
    else:
        view_regions = [a.region for a in resident]
    bounds = _polygon_bounds(r.polygon for r in view_regions)
    if bounds is None and focus is None and not view_regions:
        bounds = _company_bounds(user)
    if bounds is None:
        city = Region.objects.filter(level=Level.CITY).only("polygon").first()
        bounds = _polygon_bounds([city.polygon]) if city else None
    codes = [r.code for r in view_regions] or [settings.SHEQU_CITY_CODE]
    within = _common_prefix(codes)[: CODE_LENGTHS[Level.COMMUNITY]]
    return HomeView(bounds=bounds, within=within, grids=own_grids, regions=regions, house=house)


def _company_bounds(user) -> list[list[float]] | None:
    """Property staff: the box around the buildings of the estates their company manages."""
    q = scope_q(user, BUILDING_PERM, company_field="estate__property_company_id")
    if q is None or q is EVERYTHING:
        return None
    rows = list(Building.objects.filter(q).values_list("lat", "lng")[:MAX_BUILDINGS])
    if not rows:
        return None
    lats = [r[0] for r in rows]
    lngs = [r[1] for r in rows]
    return [[min(lats), min(lngs)], [max(lats), max(lngs)]]


def map_config(user, *, focus: Region | None = None, **extra) -> dict:
    """The `map-config` JSON of a map page (small: no features, they load per view)."""
    view = home_view(user, focus)
    return {
        **tile_config(),
        "bounds": view.bounds,
        "within": view.within,
        "focusPolygon": focus.polygon if focus is not None else None,
        "mine": {"grids": view.grids, "regions": view.regions, "house": view.house},
        "zooms": ZOOMS,
        "gridsUrl": "/api/v1/geo/grids.geojson",
        "regionsUrl": "/api/v1/geo/regions.geojson",
        "featuresUrl": "/api/v1/geo/map/features",
        "locateUrl": "/api/v1/geo/locate",
        **extra,
    }


# --- features in view -----------------------------------------------------------------------


def parse_bbox(raw) -> tuple[float, float, float, float]:
    """`west,south,east,north` in WGS-84 degrees (Leaflet's `toBBoxString()`)."""
    message = _("bbox 应为“西,南,东,北”四个经纬度数字，且西 < 东、南 < 北。")
    parts = str(raw or "").split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(message, code="invalid_bbox", details={"field": "bbox"}) from None
    values = (west, south, east, north)
    if (
        not all(math.isfinite(v) for v in values)
        or not (-180 <= west < east <= 180)
        or not (-90 <= south < north <= 90)
    ):
        raise InvalidInput(message, code="invalid_bbox", details={"field": "bbox"})
    if east - west > MAX_BBOX_DEGREES or north - south > MAX_BBOX_DEGREES:
        raise InvalidInput(
            _("bbox 范围过大：每边不超过 %(max)s 度，请放大地图。") % {"max": MAX_BBOX_DEGREES},
            code="bbox_too_large",
            details={"field": "bbox"},
        )
    return values


def parse_zoom(raw) -> int:
    text = str(raw if raw is not None else "").strip()
    if not text.isdigit() or not text.isascii() or int(text) > MAX_ZOOM:
        raise InvalidInput(
            _("zoom 应为 0–%(max)s 的整数。") % {"max": MAX_ZOOM},
            code="invalid_zoom",
            details={"field": "zoom"},
        )
    return int(text)


def features_scope_q(user, perm: str, *, company_field: str | None) -> Q | object | None:
    """The scoping helper's restriction for `perm`, widened by the resident's own grid."""
    q = scope_q(user, perm, company_field=company_field)
    if q is EVERYTHING:
        return EVERYTHING
    own = sorted(
        {
            a.scope_code
            for a in user_assignments(user)
            if a.role == Role.RESIDENT
            and role_grants(a.role, OWN_GRID_PERM)
            and len(a.scope_code) == CODE_LENGTHS[Level.GRID]
        }
    )
    if not own:
        return q
    mine = Q()
    for code in own:
        mine |= prefix_q("region_code", code)
    return mine if q is None else q | mine


def _grids_near(west, south, east, north) -> list[str]:
    """Codes of the grids whose polygons meet the box (the in-memory index of `locate`)."""
    index = get_index()
    m = GRID_SEARCH_MARGIN_DEGREES
    x0, y0 = index.projection.xy(south - m, west - m)
    x1, y1 = index.projection.xy(north + m, east + m)
    hits = index.tree.query(shapely.box(float(x0), float(y0), float(x1), float(y1)))
    return sorted(index.codes[i] for i in hits)


def _outline(points: list[tuple[float, float]]) -> list[list[float]] | None:
    """A rounded outline around an estate's buildings ([lat, lng] ring), from three buildings."""
    if len(points) < 3:
        return None
    lat0 = sum(p[0] for p in points) / len(points)
    kx = 111320.0 * math.cos(math.radians(lat0))
    ky = 110574.0
    hull = shapely.MultiPoint([(lng * kx, lat * ky) for lat, lng in points]).convex_hull
    shape = hull.buffer(ESTATE_MARGIN_METRES, quad_segs=2).simplify(5.0)
    if not isinstance(shape, shapely.Polygon):
        return None
    return [[round(y / ky, 6), round(x / kx, 6)] for x, y in shape.exterior.coords]


def map_features(user, *, bbox, zoom) -> dict:
    """Estates (from zoom 13) and buildings (from zoom 14) in the box, inside the user's scope.

    Each building: id, code, name, estate, position, rural flag and — for staff who may open it —
    the link to its room grid (楼栋户室图). No person data, no counts of people.
    """
    west, south, east, north = parse_bbox(bbox)
    zoom = parse_zoom(zoom)
    result = {
        "bbox": [west, south, east, north],
        "zoom": zoom,
        "estates": [],
        "buildings": [],
        "truncated": False,
    }
    if zoom < ZOOMS["estates"]:
        return result
    building_q = features_scope_q(user, BUILDING_PERM, company_field="estate__property_company_id")
    estate_q = features_scope_q(user, ESTATE_PERM, company_field="property_company_id")
    if building_q is None:
        return result
    grids = _grids_near(west, south, east, north)
    if not grids:
        return result
    in_view = Building.objects.filter(
        region_code__in=grids,
        lat__gte=south,
        lat__lte=north,
        lng__gte=west,
        lng__lte=east,
    )
    if building_q is not EVERYTHING:
        in_view = in_view.filter(building_q)

    if estate_q is not None:
        estates = Estate.objects.filter(
            pk__in=in_view.filter(estate__isnull=False).values("estate_id")
        )
        if estate_q is not EVERYTHING:
            estates = estates.filter(estate_q)
        estate_rows = list(estates.order_by("region_code", "name").values("id", "name", "kind"))
        if len(estate_rows) > MAX_ESTATES:
            estate_rows = estate_rows[:MAX_ESTATES]
            result["truncated"] = True
        points: dict[int, list[tuple[float, float]]] = {row["id"]: [] for row in estate_rows}
        all_buildings = Building.objects.filter(estate_id__in=list(points))
        if building_q is not EVERYTHING:
            all_buildings = all_buildings.filter(building_q)
        for estate_id, lat, lng in all_buildings.values_list("estate_id", "lat", "lng"):
            points[estate_id].append((lat, lng))
        for row in estate_rows:
            pts = points[row["id"]]
            if not pts:
                continue
            result["estates"].append(
                {
                    "id": row["id"],
                    "name": row["name"],
                    "kind": row["kind"],
                    "lat": round(sum(p[0] for p in pts) / len(pts), 6),
                    "lng": round(sum(p[1] for p in pts) / len(pts), 6),
                    "outline": _outline(pts),
                    "buildings": len(pts),
                }
            )

    if zoom >= ZOOMS["buildings"]:
        rows = list(
            in_view.order_by("code").values(
                "id", "code", "name", "estate_id", "lat", "lng", "is_rural_house", "region_code"
            )[: MAX_BUILDINGS + 1]
        )
        if len(rows) > MAX_BUILDINGS:
            rows = rows[:MAX_BUILDINGS]
            result["truncated"] = True
        rooms = apps.is_installed("shequ.people")
        result["buildings"] = [
            {
                "id": row["id"],
                "code": row["code"],
                "name": row["name"],
                "estate": row["estate_id"],
                "lat": row["lat"],
                "lng": row["lng"],
                "rural": row["is_rural_house"],
                "url": reverse("building-rooms", args=[row["id"]])
                if rooms and has_perm(user, BUILDING_ROOMS_PERM, row["region_code"])
                else None,
            }
            for row in rows
        ]
    return result
