"""Region tree rules: codes consistent with parents, grids inside communities inside townships,
sibling grids not overlapping. Used by the admin forms and by the demo seeder's self-check."""

from typing import Any, cast

import shapely
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from shequ.core.actors import User
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.regions import CODE_LENGTHS, LEVEL_ORDER, Level, level_of
from shequ.core.scoping import prefix_q, require_perm
from shequ.geo.locate import Projection
from shequ.geo.models import Building, Estate, EstateKind, House, Region, RegionKind

# A child may stick out of its parent by this much (digitising noise), in metres.
CONTAINMENT_TOLERANCE_M = 20.0
# Siblings may share an edge; an overlap larger than this (square metres) is an error.
OVERLAP_TOLERANCE_M2 = 100.0

KINDS_BY_LEVEL = {
    Level.CITY: {RegionKind.CITY},
    Level.TOWNSHIP: {RegionKind.SUBDISTRICT, RegionKind.TOWN},
    Level.COMMUNITY: {RegionKind.COMMUNITY, RegionKind.VILLAGE},
    Level.GRID: {RegionKind.GRID},
}


def _other_than[M: Model](qs: QuerySet[M], pk: int | None) -> QuerySet[M]:
    """`qs` without the row being edited (all of it for a new row, whose pk is None)."""
    return qs if pk is None else qs.exclude(pk=pk)


def _projected(polygon: dict[str, Any], projection: Projection) -> BaseGeometry:
    return projection.geometry(polygon)


def polygon_errors(polygon: object) -> list[str]:
    """Problems with a GeoJSON polygon (shape, coordinates, validity)."""
    if not isinstance(polygon, dict) or polygon.get("type") not in ("Polygon", "MultiPolygon"):
        return [_("边界应为 GeoJSON 的 Polygon 或 MultiPolygon。")]
    try:
        geom = shapely.geometry.shape(polygon)
    except Exception:
        return [_("边界的坐标格式无效。")]
    if geom.is_empty:
        return [_("边界为空。")]
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return [_("边界坐标超出经纬度范围（应为 WGS-84 经度、纬度）。")]
    if not geom.is_valid:
        return [_("边界自相交或不闭合：%(why)s") % {"why": shapely.is_valid_reason(geom)}]
    return []


def region_errors(
    *,
    code: str,
    level: str,
    kind: str,
    parent: Region | None,
    polygon: dict[str, Any] | None,
    pk: int | None = None,
) -> dict[str, list[str]]:
    """Validation errors by field (Chinese messages); empty when the region is consistent."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    code = code or ""
    try:
        level = Level(level)
    except ValueError:
        add("level", _("层级无效。"))
        return errors
    if level_of(code) != level:
        add(
            "code",
            _("%(level)s的区划代码应为 %(n)d 位数字。")
            % {"level": level.label, "n": CODE_LENGTHS[level]},
        )
    if kind not in KINDS_BY_LEVEL[level]:
        add("kind", _("类型与层级不符。"))
    if level == Level.CITY:
        if parent is not None:
            add("parent", _("市级区域不能有上级。"))
    elif parent is None:
        add("parent", _("必须选择上级区域。"))
    else:
        expected = LEVEL_ORDER[LEVEL_ORDER.index(level) - 1]
        if parent.level != expected:
            add("parent", _("上级区域应为%(level)s。") % {"level": expected.label})
        elif not code.startswith(parent.code):
            add("code", _("区划代码应以上级代码 %(parent)s 开头。") % {"parent": parent.code})
    if level == Level.COMMUNITY and level_of(code) == level:
        seq = int(code[9:12])
        if kind == RegionKind.COMMUNITY and not 1 <= seq <= 199:
            add("code", _("社区（居委会）代码末三位应在 001–199 之间。"))
        if kind == RegionKind.VILLAGE and not 200 <= seq <= 399:
            add("code", _("村（村委会）代码末三位应在 200–399 之间。"))
    if level == Level.GRID and level_of(code) == level and code.endswith("000"):
        add("code", _("网格代码末三位应在 001–999 之间。"))
    if _other_than(Region.objects.filter(code=code), pk).exists():
        add("code", _("区划代码 %(code)s 已存在。") % {"code": code})
    if polygon is None:
        if level == Level.GRID:
            add("polygon", _("网格必须有边界。"))
        return errors
    problems = polygon_errors(polygon)
    if problems:
        errors.setdefault("polygon", []).extend(problems)
        return errors
    errors.update(_geometry_errors(level, polygon, parent, pk, errors))
    return errors


def _geometry_errors(
    level: Level,
    polygon: dict[str, Any],
    parent: Region | None,
    pk: int | None,
    errors: dict[str, list[str]],
) -> dict[str, list[str]]:
    centroid = shapely.geometry.shape(polygon).centroid
    projection = Projection(lat0=centroid.y, lng0=centroid.x)
    geom = _projected(polygon, projection)
    result: dict[str, list[str]] = {}
    if parent is not None and parent.polygon and level != Level.CITY:
        outer = _projected(parent.polygon, projection).buffer(CONTAINMENT_TOLERANCE_M)
        outside = geom.difference(outer).area
        if outside > 0:
            result.setdefault("polygon", []).append(
                _("边界超出上级区域“%(parent)s”约 %(m2).0f 平方米。")
                % {"parent": parent.name, "m2": outside}
            )
    if parent is not None:
        siblings = _other_than(Region.objects.filter(parent=parent, polygon__isnull=False), pk)
        for code, name, other in siblings.values_list("code", "name", "polygon"):
            # (polygon__isnull=False: never None)
            other_geom = _projected(cast(dict[str, Any], other), projection)
            if not geom.intersects(other_geom):
                continue
            overlap = geom.intersection(other_geom).area
            if overlap > OVERLAP_TOLERANCE_M2:
                result.setdefault("polygon", []).append(
                    _("边界与同级区域“%(name)s”（%(code)s）重叠约 %(m2).0f 平方米。")
                    % {"name": name, "code": code, "m2": overlap}
                )
    return result


def centroid_of(polygon: dict[str, Any]) -> tuple[float, float]:
    """(lat, lng) of a representative point inside the polygon."""
    point = shapely.geometry.shape(polygon).representative_point()
    return point.y, point.x


def region_apply_geometry(region: Region) -> None:
    """Keep the centroid in step with the polygon."""
    if region.polygon:
        region.centroid_lat, region.centroid_lng = centroid_of(region.polygon)


def estate_prepare(estate: Estate) -> None:
    estate.region_code = estate.grid.code


def building_prepare(building: Building) -> None:
    """Derived fields of a building: its grid's code, and its estate must lie in that grid."""
    building.region_code = building.grid.code


def house_prepare(house: House) -> None:
    house.region_code = house.building.region_code


# --- estates, buildings, houses: the scoped edit pages and the admin both write through here ---

ESTATE_FIELDS = ("name", "kind", "property_company")
BUILDING_FIELDS = ("estate", "name", "address", "lat", "lng", "floors", "units", "is_rural_house")
HOUSE_FIELDS = ("unit", "floor", "room")


def _invalid(errors: dict[str, str]) -> InvalidInput:
    first = next(iter(errors.values()))
    return InvalidInput(first, code="invalid", details={"fields": errors})


def _changed(obj: Model, values: dict[str, Any]) -> list[str]:
    """The fields whose new value differs from the stored one (sorted, for the audit row)."""
    return sorted(k for k, v in values.items() if getattr(obj, k) != v)


def _save_changed(obj: Model, values: dict[str, Any], changed: list[str]) -> None:
    for name in changed:
        setattr(obj, name, values[name])
    obj.save(update_fields=changed)


def _text(value: object, limit: int) -> str:
    return str(value or "").strip()[:limit]


def estate_problems(*, grid: Region, name: str, kind: str, pk: int | None = None) -> dict[str, str]:
    """Field → Chinese message for an estate that may not be saved (empty when fine)."""
    errors: dict[str, str] = {}
    if grid.level != Level.GRID:
        errors["grid"] = _("请选择网格（15 位代码）。")
    if not name:
        errors["name"] = _("请填写名称。")
    elif _other_than(Estate.objects.filter(grid=grid, name=name), pk).exists():
        errors["name"] = _("该网格内已有同名的小区/自然村。")
    if kind not in EstateKind.values:
        errors["kind"] = _("请选择类型（小区或自然村）。")
    return errors


# A property company is typed Any: the property app sits beside geo (docs/architecture.md,
# Floors), which does not import it.
def estate_create(
    *,
    actor: User,
    grid: Region,
    name: str,
    kind: str,
    property_company: Any = None,
    request: HttpRequest | None = None,
) -> Estate:
    """Add an estate (小区) or natural village (自然村) to a grid (audited)."""
    require_perm(actor, "geo.add_estate", grid.code)
    name = _text(name, 100)
    errors = estate_problems(grid=grid, name=name, kind=kind)
    if errors:
        raise _invalid(errors)
    with transaction.atomic():
        estate = Estate(name=name, kind=kind, grid=grid, property_company=property_company)
        estate_prepare(estate)
        estate.save()
        audit_record(actor=actor, action="geo.estate_create", obj=estate, request=request)
    return estate


def estate_update(
    *, actor: User, estate: Estate, fields: dict[str, Any], request: HttpRequest | None = None
) -> Estate:
    """Change an estate's name, kind or property company (its grid stays; audited)."""
    require_perm(actor, "geo.change_estate", estate.region_code)
    values = {k: v for k, v in fields.items() if k in ESTATE_FIELDS}
    if "name" in values:
        values["name"] = _text(values["name"], 100)
    merged = {name: values.get(name, getattr(estate, name)) for name in ("name", "kind")}
    errors = estate_problems(grid=estate.grid, pk=estate.pk, **merged)
    if errors:
        raise _invalid(errors)
    changed = _changed(estate, values)
    if not changed:
        return estate
    with transaction.atomic():
        _save_changed(estate, values, changed)
        audit_record(
            actor=actor,
            action="geo.estate_update",
            obj=estate,
            request=request,
            details={"fields": changed},
        )
    return estate


def building_problems(*, grid: Region, values: dict[str, Any]) -> dict[str, str]:
    """Field → Chinese message for building values that may not be saved (empty when fine)."""
    errors: dict[str, str] = {}
    estate = values.get("estate")
    if estate is not None and estate.grid_id != grid.pk:
        errors["estate"] = _("所选小区/自然村不在该网格内。")
    if not values.get("name"):
        errors["name"] = _("请填写楼号/门牌。")
    if not values.get("address"):
        errors["address"] = _("请填写地址。")
    for name, low, high, message in (
        ("floors", 1, 200, _("层数应在 1–200 之间。")),
        ("units", 1, 50, _("单元数应在 1–50 之间。")),
        ("lat", -90, 90, _("纬度应在 -90 到 90 之间。")),
        ("lng", -180, 180, _("经度应在 -180 到 180 之间。")),
    ):
        value = values.get(name)
        if value is None or not (low <= value <= high):
            errors[name] = message
    return errors


def _next_code(prefix: str, model: type[Building | House], digits: int = 4) -> str:
    codes = model.objects.filter(prefix_q("code", prefix)).values_list("code", flat=True)
    tails = [int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()]
    return f"{prefix}{(max(tails, default=0) + 1):0{digits}d}"


def building_create(
    *,
    actor: User,
    grid: Region,
    name: str,
    address: str,
    lat: float,
    lng: float,
    floors: int = 1,
    units: int = 1,
    estate: Estate | None = None,
    is_rural_house: bool = False,
    code: str = "",
    request: HttpRequest | None = None,
) -> Building:
    """Add a building (楼栋) to a grid; its code is the grid's code plus a sequence number unless
    given (audited)."""
    require_perm(actor, "geo.add_building", grid.code)
    values: dict[str, Any] = {
        "estate": estate,
        "name": _text(name, 50),
        "address": _text(address, 200),
        "lat": lat,
        "lng": lng,
        "floors": floors,
        "units": units,
        "is_rural_house": bool(is_rural_house),
    }
    errors = {} if grid.level == Level.GRID else {"grid": _("请选择网格（15 位代码）。")}
    errors |= building_problems(grid=grid, values=values)
    code = _text(code, 19)
    if code and not code.startswith(grid.code):
        errors["code"] = _("楼栋编码应以网格代码 %(code)s 开头。") % {"code": grid.code}
    if errors:
        raise _invalid(errors)
    try:
        with transaction.atomic():
            building = Building(grid=grid, code=code or _next_code(grid.code, Building), **values)
            building_prepare(building)
            building.save()
            audit_record(actor=actor, action="geo.building_create", obj=building, request=request)
    except IntegrityError:
        raise ConflictError(_("楼栋编码已存在。"), code="building_code_taken") from None
    return building


def building_update(
    *,
    actor: User,
    building: Building,
    fields: dict[str, Any],
    request: HttpRequest | None = None,
) -> Building:
    """Change a building's details (not its grid or code; audited). Fewer floors or units than
    its rooms use are refused."""
    require_perm(actor, "geo.change_building", building.region_code)
    values = {k: v for k, v in fields.items() if k in BUILDING_FIELDS}
    for name, limit in (("name", 50), ("address", 200)):
        if name in values:
            values[name] = _text(values[name], limit)
    merged = {name: values.get(name, getattr(building, name)) for name in BUILDING_FIELDS}
    errors = building_problems(grid=building.grid, values=merged)
    rooms = House.objects.filter(building=building)
    if "units" not in errors and rooms.filter(unit__gt=merged["units"]).exists():
        errors["units"] = _("已有房屋位于更高的单元，不能减少单元数。")
    if "floors" not in errors and rooms.filter(floor__gt=merged["floors"]).exists():
        errors["floors"] = _("已有房屋位于更高的楼层，不能减少层数。")
    if errors:
        raise _invalid(errors)
    changed = _changed(building, values)
    if not changed:
        return building
    with transaction.atomic():
        _save_changed(building, values, changed)
        audit_record(
            actor=actor,
            action="geo.building_update",
            obj=building,
            request=request,
            details={"fields": changed},
        )
    return building


def house_problems(
    *,
    building: Building,
    unit: int | None,
    floor: int | None,
    room: str,
    pk: int | None = None,
) -> dict[str, str]:
    """Field → Chinese message for a room that may not be saved (empty when fine)."""

    errors: dict[str, str] = {}
    if unit is None or not (1 <= unit <= building.units):
        errors["unit"] = _("单元应在 1–%(n)s 之间。") % {"n": building.units}
    if building.is_rural_house:
        if floor is not None and not (1 <= floor <= building.floors):
            errors["floor"] = _("楼层应在 1–%(n)s 之间。") % {"n": building.floors}
    elif floor is None or not (1 <= floor <= building.floors):
        errors["floor"] = _("楼层应在 1–%(n)s 之间。") % {"n": building.floors}
    if not room:
        errors["room"] = _("请填写室号/门牌号。")
    elif (
        unit is not None  # (else "unit" is in errors)
        and "unit" not in errors
        and _other_than(House.objects.filter(building=building, unit=unit, room=room), pk).exists()
    ):
        errors["room"] = _("该单元已有此室号。")
    return errors


def house_create(
    *,
    actor: User,
    building: Building,
    unit: int,
    floor: int | None,
    room: str,
    request: HttpRequest | None = None,
) -> House:
    """Add a room (户室) to a building; its code is the building's code plus a sequence number
    (audited)."""
    require_perm(actor, "geo.add_house", building.region_code)
    room = _text(room, 20)
    errors = house_problems(building=building, unit=unit, floor=floor, room=room)
    if errors:
        raise _invalid(errors)
    try:
        with transaction.atomic():
            house = House(
                building=building,
                code=_next_code(building.code, House),
                unit=unit,
                floor=floor,
                room=room,
            )
            house_prepare(house)
            house.save()
            audit_record(actor=actor, action="geo.house_create", obj=house, request=request)
    except IntegrityError:
        raise ConflictError(_("该单元已有此室号。"), code="house_room_taken") from None
    return house


def house_update(
    *, actor: User, house: House, fields: dict[str, Any], request: HttpRequest | None = None
) -> House:
    """Change a room's unit, floor or number (audited)."""
    require_perm(actor, "geo.change_house", house.region_code)
    values = {k: v for k, v in fields.items() if k in HOUSE_FIELDS}
    if "room" in values:
        values["room"] = _text(values["room"], 20)
    merged = {name: values.get(name, getattr(house, name)) for name in HOUSE_FIELDS}
    errors = house_problems(building=house.building, pk=house.pk, **merged)
    if errors:
        raise _invalid(errors)
    changed = _changed(house, values)
    if not changed:
        return house
    try:
        with transaction.atomic():
            _save_changed(house, values, changed)
            audit_record(
                actor=actor,
                action="geo.house_update",
                obj=house,
                request=request,
                details={"fields": changed},
            )
    except IntegrityError:
        raise ConflictError(_("该单元已有此室号。"), code="house_room_taken") from None
    return house
