"""Reads of the region tree: GeoJSON for the map, children with counts for the browser."""

from typing import Any

from django.apps import apps
from django.db.models import Count, QuerySet
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from shequ.accounts.models import Assignment
from shequ.core.actors import AnyUser
from shequ.core.errors import InvalidInput
from shequ.core.regions import CODE_LENGTHS, Level, child_level, is_region_code
from shequ.core.roles import Role
from shequ.core.scoping import has_perm, prefix_q, scoped
from shequ.geo.models import Building, Estate, House, Region


def parse_region_code(code: str, *, field: str = "within") -> str:
    if not is_region_code(code):
        raise InvalidInput(
            _("区划代码无效：应为 6、9、12 或 15 位数字。"),
            code="invalid_region_code",
            details={"field": field},
        )
    return code


def grid_workers_by_grid(grid_codes: list[str] | None = None) -> dict[str, list[str]]:
    qs = Assignment.objects.filter(role=Role.GRID_WORKER, is_active=True, region__level=Level.GRID)
    if grid_codes is not None:
        qs = qs.filter(region__code__in=grid_codes)
    result: dict[str, list[str]] = {}
    for code, full_name, username in qs.values_list(
        "region__code", "user__full_name", "user__username"
    ).order_by("region__code", "user__full_name"):
        result.setdefault(code, []).append(full_name or username)
    return result


def regions_geojson(*, level: str, within: str | None = None) -> dict:
    qs = Region.objects.filter(level=level, polygon__isnull=False)
    if within:
        qs = qs.filter(prefix_q("code", within))
    rows = list(
        qs.order_by("code").values(
            "code",
            "name",
            "kind",
            "polygon",
            "is_synthetic",
            "centroid_lat",
            "centroid_lng",
            "parent__code",
            "parent__name",
        )
    )
    workers = grid_workers_by_grid([r["code"] for r in rows]) if level == Level.GRID else {}
    features = []
    for row in rows:
        properties = {
            "code": row["code"],
            "name": row["name"],
            "kind": row["kind"],
            "level": level,
            "is_synthetic": row["is_synthetic"],
            "parent_code": row["parent__code"],
            "parent_name": row["parent__name"],
            "centroid": [row["centroid_lng"], row["centroid_lat"]],
        }
        if level == Level.GRID:
            properties["community_code"] = row["code"][:12]
            properties["community_name"] = row["parent__name"]
            properties["grid_workers"] = workers.get(row["code"], [])
        features.append({"type": "Feature", "geometry": row["polygon"], "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def _count_by_prefix(qs: QuerySet[Any], field: str, length: int) -> dict[str, int]:
    return dict(
        qs.annotate(prefix=Substr(field, 1, length))
        .values("prefix")
        .annotate(n=Count("pk"))
        .values_list("prefix", "n")
    )


def region_children_with_counts(region: Region) -> list[dict]:
    """Children of a region with counts of communities, grids, buildings and houses inside each."""
    level = child_level(Level(region.level))
    if level is None:
        return []
    length = CODE_LENGTHS[level]
    children = list(region.children.order_by("code"))
    inside = prefix_q("code", region.code)
    counts = {
        "communities": _count_by_prefix(
            Region.objects.filter(inside, level=Level.COMMUNITY), "code", length
        ),
        "grids": _count_by_prefix(Region.objects.filter(inside, level=Level.GRID), "code", length),
        "buildings": _count_by_prefix(
            Building.objects.filter(prefix_q("region_code", region.code)), "region_code", length
        ),
        "houses": _count_by_prefix(
            House.objects.filter(prefix_q("region_code", region.code)), "region_code", length
        ),
    }
    people = _people_counts(region.code, length)
    if people is not None:
        counts["people"] = people
    return [
        {"region": child, **{name: counts[name].get(child.code, 0) for name in counts}}
        for child in children
    ]


def _people_counts(prefix: str, length: int) -> dict[str, int] | None:
    """Residents per child region, when the registry app is installed (None otherwise)."""
    if not apps.is_installed("shequ.people"):
        return None
    from shequ.people.selectors import people_counts_by_prefix  # noqa: PLC0415 - upward, behind is_installed

    return people_counts_by_prefix(prefix, length)


def grid_summary(grid: Region) -> dict:
    """What a grid worker sees first about their grid."""
    people = _people_counts(grid.code, len(grid.code))
    return {
        "region": grid,
        "estates": grid.estates.count(),
        "buildings": Building.objects.filter(region_code=grid.code).count(),
        "houses": House.objects.filter(region_code=grid.code).count(),
        "people": None if people is None else people.get(grid.code, 0),
        "workers": grid_workers_by_grid([grid.code]).get(grid.code, []),
    }


def building_room_grid(building: Building) -> dict:
    """楼栋房屋网格: one row per floor (top first), one column per unit, each cell the rooms on
    that floor of that unit. Rooms without a floor (rural houses) form a last row."""
    houses = list(House.objects.filter(building=building).order_by("unit", "floor", "room"))
    cells: dict[tuple[int | None, int], list[House]] = {}
    for house in houses:
        cells.setdefault((house.floor, house.unit), []).append(house)
    units = list(range(1, building.units + 1))
    floors: list[int | None] = list(range(building.floors, 0, -1))
    if any(h.floor is None for h in houses):
        floors.append(None)
    extra_units = sorted({h.unit for h in houses} - set(units))
    rows = [
        {
            "floor": floor,
            "cells": [
                {"unit": u, "houses": cells.get((floor, u), [])} for u in units + extra_units
            ],
        }
        for floor in floors
    ]
    return {"units": units + extra_units, "rows": rows, "house_count": len(houses)}


def grid_buildings(user: AnyUser, grid: Region) -> dict[str, Any]:
    """The estates and buildings of one grid the user may see, with what they may change."""
    return {
        "estates": list(
            scoped(Estate.objects.filter(grid=grid), user, "geo.view_estate").order_by("name")
        ),
        "buildings": list(
            scoped(
                Building.objects.filter(grid=grid).select_related("estate"),
                user,
                "geo.view_building",
            ).order_by("code")[:500]
        ),
        "can_add_building": has_perm(user, "geo.add_building", grid.code),
        "can_add_estate": has_perm(user, "geo.add_estate", grid.code),
        "can_change_estate": has_perm(user, "geo.change_estate", grid.code),
    }
