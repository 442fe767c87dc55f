"""locate(lat, lng): which grid contains a point, and which grids lie within 30 m of it.

Each process keeps the grid polygons in a shapely STRtree, projected to metres with a local
equirectangular projection centred on the city (error well under 1 % across Danyang). The index
is rebuilt when grids change: at once in the process that changed them (a post_save hook) and
within CHECK_SECONDS in every other process (a version stamp in the database).
"""

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import shapely
from django.db.models import F
from django.utils.translation import gettext as _

from shequ.core.errors import InvalidInput
from shequ.core.models import VersionStamp
from shequ.core.regions import Level
from shequ.geo.coords import Crs, to_wgs84
from shequ.geo.models import Region

NEAR_BOUNDARY_METRES = 30.0
CHECK_SECONDS = 2.0
STAMP = "geo.grids"


@dataclass(frozen=True)
class Projection:
    lat0: float
    lng0: float

    @property
    def metres_per_degree_lat(self) -> float:
        phi = math.radians(self.lat0)
        return 111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)

    @property
    def metres_per_degree_lng(self) -> float:
        phi = math.radians(self.lat0)
        return 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)

    def xy(self, lat, lng):
        """Project (arrays of) WGS-84 degrees to metres east/north of the origin."""
        return (
            (np.asarray(lng, dtype=float) - self.lng0) * self.metres_per_degree_lng,
            (np.asarray(lat, dtype=float) - self.lat0) * self.metres_per_degree_lat,
        )

    def geometry(self, geojson: dict):
        geom = shapely.geometry.shape(geojson)
        return shapely.transform(
            geom,
            lambda c: np.column_stack(self.xy(c[:, 1], c[:, 0])),
        )


@dataclass
class GridIndex:
    codes: list[str]
    names: list[str]
    geometries: np.ndarray
    tree: shapely.STRtree
    projection: Projection
    version: int
    code_array: np.ndarray = field(init=False, repr=False)  # codes + [None], for vector lookups

    def __post_init__(self) -> None:
        self.code_array = np.array([*self.codes, None], dtype=object)

    @classmethod
    def build(cls, version: int) -> "GridIndex":
        rows = list(
            Region.objects.filter(level=Level.GRID, polygon__isnull=False)
            .order_by("code")
            .values_list("code", "name", "polygon", "centroid_lat", "centroid_lng")
        )
        lats = [r[3] for r in rows if r[3] is not None]
        lngs = [r[4] for r in rows if r[4] is not None]
        projection = Projection(
            lat0=float(np.mean(lats)) if lats else 32.0,
            lng0=float(np.mean(lngs)) if lngs else 119.6,
        )
        # (polygon__isnull=False: never None)
        geometries = np.array(
            [projection.geometry(cast(dict[str, Any], r[2])) for r in rows], dtype=object
        )
        shapely.prepare(geometries)
        return cls(
            codes=[r[0] for r in rows],
            names=[r[1] for r in rows],
            geometries=geometries,
            tree=shapely.STRtree(geometries),
            projection=projection,
            version=version,
        )


@dataclass(frozen=True)
class LocateResult:
    lat: float  # WGS-84
    lng: float
    grid_code: str | None
    grid_name: str | None = None
    near_boundary: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def community_code(self) -> str | None:
        return self.grid_code[:12] if self.grid_code else None


_lock = threading.Lock()
_index: GridIndex | None = None
_checked_at = 0.0


def _db_version() -> int:
    return VersionStamp.objects.filter(name=STAMP).values_list("version", flat=True).first() or 0


def get_index() -> GridIndex:
    """The current process's grid index, rebuilt when another process changed the grids."""
    global _index, _checked_at
    now = time.monotonic()
    index = _index
    if index is not None and now - _checked_at < CHECK_SECONDS:
        return index
    with _lock:
        version = _db_version()
        if _index is None or _index.version != version:
            _index = GridIndex.build(version)
        _checked_at = time.monotonic()
        return _index


def grids_changed(sender=None, instance=None, **kwargs) -> None:
    """Invalidate every process's index (signal receiver and explicit call after bulk writes)."""
    global _index
    if instance is not None and getattr(instance, "level", Level.GRID) != Level.GRID:
        return
    updated = VersionStamp.objects.filter(name=STAMP).update(version=F("version") + 1)
    if not updated:
        VersionStamp.objects.get_or_create(name=STAMP, defaults={"version": 1})
    with _lock:
        _index = None


def parse_coordinate(value, *, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            _("%(name)s 必须是数字。") % {"name": name},
            code="invalid_coordinate",
            details={"field": name},
        ) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidInput(
            _("%(name)s 超出范围（%(low)s 至 %(high)s）。")
            % {"name": name, "low": low, "high": high},
            code="invalid_coordinate",
            details={"field": name},
        )
    return number


def parse_crs(crs: str) -> Crs:
    try:
        return Crs((crs or Crs.WGS84).lower())
    except ValueError:
        raise InvalidInput(
            _("不支持的坐标系 %(crs)s，可用：wgs84、gcj02、bd09。") % {"crs": crs},
            code="invalid_crs",
            details={"field": "crs"},
        ) from None


def locate(lat, lng, crs: str = "wgs84") -> LocateResult:
    """The grid containing the point, or grid_code None with a reason when outside the grids."""
    lat = parse_coordinate(lat, name="lat", low=-90, high=90)
    lng = parse_coordinate(lng, name="lng", low=-180, high=180)
    lat, lng = to_wgs84(lat, lng, parse_crs(crs))
    index = get_index()
    x, y = index.projection.xy(lat, lng)
    point = shapely.Point(float(x), float(y))
    containing = index.tree.query(point, predicate="intersects")
    near = index.tree.query(point, predicate="dwithin", distance=NEAR_BOUNDARY_METRES)
    if len(containing):
        chosen = int(containing.min())  # on a shared edge: the lowest code, deterministically
        near_codes = sorted(index.codes[i] for i in near if i != chosen)
        return LocateResult(lat, lng, index.codes[chosen], index.names[chosen], near_codes)
    return LocateResult(
        lat,
        lng,
        None,
        near_boundary=sorted(index.codes[i] for i in near),
        reason=_("该位置不在丹阳市的网格范围内。"),
    )


def locate_many(lats, lngs) -> list[str | None]:
    """Vectorised containment for WGS-84 arrays: the containing grid code per point (or None).

    On a shared edge the lowest code wins, as in locate()."""
    index = get_index()
    x, y = index.projection.xy(lats, lngs)
    points = shapely.points(x, y)
    result = np.full(len(points), len(index.codes), dtype=np.int64)
    if len(index.codes):
        point_idx, grid_idx = index.tree.query(points, predicate="intersects")
        if len(point_idx):
            order = np.lexsort((grid_idx, point_idx))  # by point, then lowest grid first
            point_idx, grid_idx = point_idx[order], grid_idx[order]
            first = np.ones(len(point_idx), dtype=bool)
            first[1:] = point_idx[1:] != point_idx[:-1]
            result[point_idx[first]] = grid_idx[first]
    return index.code_array[result].tolist()
