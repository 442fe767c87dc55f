"""Routing: where a case lies (its grid) and which unit handles it.

The grid comes from `locate()` (or a building's grid). The category's handler type decides the
unit: the grid (its grid worker), the community, the township, or the property company of the
building's estate — the building given, or else the nearest building within 50 m of the point
whose estate has a company; without one the community handles it. Grids within 30 m of the
point (`near_boundary`) are kept so their workers can be told.
"""

import math
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from shequ.cases.workflow import UNIT_CODE_LENGTH, HandlerType
from shequ.core.errors import InvalidInput
from shequ.geo import locate as geo_locate
from shequ.geo.models import Building

PROPERTY_SEARCH_METRES = 50.0


@dataclass(frozen=True)
class Place:
    grid_code: str
    lat: float | None
    lng: float | None
    address: str = ""
    building: Building | None = None
    near_grids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    handler_type: str
    handler_unit_code: str
    handler_company_id: int | None


def field_error(field_name: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, details=[{"field": field_name, "message": message}])


def place_from_point(lat, lng, crs: str = "wgs84", address: str = "") -> Place:
    try:
        result = geo_locate.locate(lat, lng, crs)
    except InvalidInput as exc:
        field_name = (
            (exc.details or {}).get("field", "lat") if isinstance(exc.details, dict) else "lat"
        )
        raise field_error(field_name, exc.message, exc.code) from None
    if result.grid_code is None:
        raise field_error(
            "lat",
            _("该位置不在丹阳市的网格范围内，请在地图上重新选择。"),
            "outside_city",
        )
    return Place(
        grid_code=result.grid_code,
        lat=result.lat,
        lng=result.lng,
        address=address,
        near_grids=list(result.near_boundary),
    )


def place_from_building(building: Building, address: str = "") -> Place:
    return Place(
        grid_code=building.region_code,
        lat=building.lat,
        lng=building.lng,
        address=address or building.address,
        building=building,
    )


def _distance_m(lat1, lng1, lat2, lng2) -> float:
    k = math.pi / 180
    x = (lng2 - lng1) * k * math.cos((lat1 + lat2) / 2 * k)
    y = (lat2 - lat1) * k
    return 6371000 * math.hypot(x, y)


def nearest_managed_building(place: Place) -> Building | None:
    """The nearest building of the grid within 50 m whose estate has a property company."""
    if place.lat is None:
        return None
    assert place.lng is not None  # a point has both coordinates
    box = PROPERTY_SEARCH_METRES / 111000 * 1.5
    candidates = Building.objects.filter(
        region_code=place.grid_code,
        estate__property_company__isnull=False,
        lat__range=(place.lat - box, place.lat + box),
        lng__range=(place.lng - box, place.lng + box),
    ).select_related("estate")
    best, best_distance = None, PROPERTY_SEARCH_METRES
    for building in candidates:
        distance = _distance_m(place.lat, place.lng, building.lat, building.lng)
        if distance <= best_distance:
            best, best_distance = building, distance
    return best


def route(handler_type: str, place: Place) -> Route:
    """The unit that handles a case of this handler type at this place."""
    if handler_type == HandlerType.PROPERTY:
        building = place.building or nearest_managed_building(place)
        company_id = None
        if building is not None and building.estate is not None:
            company_id = building.estate.property_company_id
        if company_id:
            return Route(HandlerType.PROPERTY, "", company_id)
        handler_type = HandlerType.COMMUNITY
    length = UNIT_CODE_LENGTH[HandlerType(handler_type)]
    return Route(handler_type, place.grid_code[:length], None)
