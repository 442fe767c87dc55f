"""Region tree rules: codes consistent with parents, grids inside communities inside townships,
sibling grids not overlapping. Used by the admin forms and by the demo seeder's self-check."""

import shapely
from django.utils.translation import gettext as _

from shequ.core.regions import CODE_LENGTHS, LEVEL_ORDER, Level, level_of
from shequ.geo.locate import Projection
from shequ.geo.models import Region, RegionKind

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


def _projected(polygon: dict, projection: Projection):
    return projection.geometry(polygon)


def polygon_errors(polygon) -> list[str]:
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
    polygon: dict | None,
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
    if Region.objects.filter(code=code).exclude(pk=pk).exists():
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


def _geometry_errors(level, polygon, parent, pk, errors) -> dict[str, list[str]]:
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
        siblings = Region.objects.filter(parent=parent, polygon__isnull=False).exclude(pk=pk)
        for code, name, other in siblings.values_list("code", "name", "polygon"):
            other_geom = _projected(other, projection)
            if not geom.intersects(other_geom):
                continue
            overlap = geom.intersection(other_geom).area
            if overlap > OVERLAP_TOLERANCE_M2:
                result.setdefault("polygon", []).append(
                    _("边界与同级区域“%(name)s”（%(code)s）重叠约 %(m2).0f 平方米。")
                    % {"name": name, "code": code, "m2": overlap}
                )
    return result


def centroid_of(polygon: dict) -> tuple[float, float]:
    """(lat, lng) of a representative point inside the polygon."""
    point = shapely.geometry.shape(polygon).representative_point()
    return point.y, point.x


def region_apply_geometry(region: Region) -> None:
    """Keep the centroid in step with the polygon."""
    if region.polygon:
        region.centroid_lat, region.centroid_lng = centroid_of(region.polygon)


def estate_prepare(estate) -> None:
    estate.region_code = estate.grid.code


def building_prepare(building) -> None:
    """Derived fields of a building: its grid's code, and its estate must lie in that grid."""
    building.region_code = building.grid.code


def building_errors(building) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if building.grid_id and building.grid.level != Level.GRID:
        errors["grid"] = [_("请选择网格（15 位代码）。")]
    if building.estate_id and building.grid_id and building.estate.grid_id != building.grid_id:
        errors["estate"] = [_("所选小区/自然村不在该网格内。")]
    if building.code and building.grid_id and not building.code.startswith(building.grid.code):
        errors.setdefault("code", []).append(
            _("楼栋编码应以网格代码 %(code)s 开头。") % {"code": building.grid.code}
        )
    return errors


def house_prepare(house) -> None:
    house.region_code = house.building.region_code
