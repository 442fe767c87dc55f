"""Helpers for the closed-loop tests (report, drive a case, photos, points in a grid) and the
`categories` fixture (registered for every test module by tests/conftest.py)."""

import io

import pytest
import shapely
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from shequ.cases import services
from shequ.cases.categories import ensure_categories
from shequ.cases.models import Case, Category
from shequ.cases.workflow import Status
from shequ.geo.locate import locate
from shequ.geo.models import Building, Region


@pytest.fixture
def categories(db, settings, tmp_path_factory):
    """The shipped categories (a flush by a transactional test elsewhere removes them), and
    photos stored in a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    if not Category.objects.filter(code="0101").exists():
        ensure_categories()


def photo_bytes(fmt: str = "JPEG", size=(80, 60), colour=(200, 40, 40), exif: bool = True) -> bytes:
    image = Image.new("RGB", size, colour)
    buffer = io.BytesIO()
    kwargs = {}
    if exif and fmt == "JPEG":
        data = Image.Exif()
        data[0x010F] = "TestCam"  # Make
        data[0x0112] = 1  # Orientation
        gps = {1: "N", 2: (32.0, 1.0, 2.0), 3: "E", 4: (119.0, 35.0, 1.0)}
        data[0x8825] = gps  # GPSInfo
        kwargs["exif"] = data
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def upload(name: str = "photo.jpg", data: bytes | None = None, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data if data is not None else photo_bytes(), content_type)


def point_in(grid_code: str) -> tuple[float, float]:
    """A point well inside a grid (not within 30 m of another grid)."""
    region = Region.objects.get(code=grid_code)
    shape = shapely.geometry.shape(region.polygon)
    inner = shape.buffer(-0.0008)
    point = (inner if not inner.is_empty else shape).representative_point()
    result = locate(point.y, point.x)
    assert result.grid_code == grid_code and not result.near_boundary
    return point.y, point.x


def point_near_boundary(grid_a: str, grid_b: str) -> tuple[float, float]:
    """A point inside grid_a within ~10 m of grid_b."""
    a = shapely.geometry.shape(Region.objects.get(code=grid_a).polygon)
    b = shapely.geometry.shape(Region.objects.get(code=grid_b).polygon)
    edge = a.boundary.intersection(b.boundary)
    mid = edge.interpolate(0.5, normalized=True)
    centre = a.representative_point()
    for fraction in (0.0001, 0.0002, 0.0004):
        lng = mid.x + (centre.x - mid.x) * fraction
        lat = mid.y + (centre.y - mid.y) * fraction
        result = locate(lat, lng)
        if result.grid_code == grid_a and grid_b in result.near_boundary:
            return lat, lng
    raise AssertionError("no near-boundary point found")


def report(actor, category: str = "0101", *, grid: str | None = None, **kwargs) -> Case:
    """Report through the service with sensible defaults (a photo, a point in `grid`)."""
    if "lat" not in kwargs and "building" not in kwargs:
        grid = (
            grid
            or Region.objects.filter(code__startswith="321181001001", level="grid")
            .order_by("code")
            .values_list("code", flat=True)
            .first()
        )
        kwargs["lat"], kwargs["lng"] = point_in(grid)
    kwargs.setdefault("description", "小区门口有一堆垃圾，已经好几天了")
    kwargs.setdefault("photos", [photo_bytes()])
    if category == "0101":
        kwargs.setdefault("attributes", {"amount": "v2"})
    return services.case_report(actor=actor, category=category, **kwargs)


def managed_building(grid_code: str) -> Building:
    return (
        Building.objects.filter(region_code=grid_code, estate__property_company__isnull=False)
        .order_by("code")
        .first()
    )


def drive(case: Case, to: str, persona) -> Case:
    """Move a grid case (category with a grid handler) along the happy path up to status `to`."""
    order = [
        Status.REPORTED,
        Status.REGISTERED,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.HANDLED,
        Status.CLOSED,
    ]
    steps = {
        Status.REGISTERED: lambda c: services.case_register(case=c, actor=persona("community")),
        Status.DISPATCHED: lambda c: services.case_dispatch(case=c, actor=persona("community")),
        Status.ACCEPTED: lambda c: services.case_accept(case=c, actor=persona("grid")),
        Status.HANDLED: lambda c: services.case_handle(
            case=c, actor=persona("grid"), note="已清理完毕", photos=[photo_bytes()]
        ),
        Status.CLOSED: lambda c: services.case_verify(case=c, actor=persona("community")),
    }
    if to == Status.VOIDED:
        return services.case_void(case=case, actor=persona("community"), reason="重复测试")
    if to == Status.MERGED:
        other = report(persona("resident"), "0101")
        return services.case_merge(case=case, actor=persona("community"), into=other)
    while order.index(case.status) < order.index(to):
        case = steps[order[order.index(case.status) + 1]](case)
    return case
