"""Region codes and the tree's validation rules."""

import pytest

from shequ.core import regions
from shequ.core.regions import Level
from shequ.geo.models import Region
from shequ.geo.services import polygon_errors, region_errors


def square(lng, lat, size):
    return {
        "type": "Polygon",
        "coordinates": [
            [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
        ],
    }


def test_code_levels_and_parents():
    assert regions.level_of("321181") == Level.CITY
    assert regions.level_of("321181001") == Level.TOWNSHIP
    assert regions.level_of("321181001001") == Level.COMMUNITY
    assert regions.level_of("321181001001001") == Level.GRID
    for bad in ("", "32118", "3211810010", "32118a001", "３２１１８１", None, 321181):
        assert regions.level_of(bad) is None
    assert regions.parent_code("321181001001001") == "321181001001"
    assert regions.parent_code("321181001") == "321181"
    assert regions.parent_code("321181") is None
    assert regions.ancestors("321181001001") == ["321181", "321181001", "321181001001"]
    assert regions.is_within("321181001001001", "321181001")
    assert not regions.is_within("321181002001001", "321181001")


@pytest.mark.django_db
def test_every_seeded_region_is_valid(world):
    """The demo tree obeys its own rules: codes, nesting and non-overlapping siblings."""
    for region in Region.objects.exclude(level=Level.CITY).select_related("parent"):
        errors = region_errors(
            code=region.code,
            level=region.level,
            kind=region.kind,
            parent=region.parent,
            polygon=region.polygon,
            pk=region.pk,
        )
        assert errors == {}, (region.code, errors)


@pytest.mark.django_db
def test_code_must_match_level_and_parent(world):
    community = Region.objects.get(code=world["community"])
    errors = region_errors(
        code="3211810010019", level=Level.GRID, kind="grid", parent=community, polygon=None
    )
    assert "15 位数字" in errors["code"][0]
    errors = region_errors(
        code="321181002001901", level=Level.GRID, kind="grid", parent=community, polygon=None
    )
    assert any("应以上级代码 321181001001 开头" in m for m in errors["code"])
    township = community.parent
    errors = region_errors(
        code="321181001001901", level=Level.GRID, kind="grid", parent=township, polygon=None
    )
    assert "上级区域应为社区/村" in errors["parent"][0]
    errors = region_errors(
        code=world["grid_a"], level=Level.GRID, kind="grid", parent=community, polygon=None
    )
    assert any("已存在" in m for m in errors["code"])


@pytest.mark.django_db
def test_community_and_village_code_ranges(world):
    township = Region.objects.get(code=world["township"])
    errors = region_errors(
        code="321181001250", level=Level.COMMUNITY, kind="community", parent=township, polygon=None
    )
    assert any("001–199" in m for m in errors["code"])
    errors = region_errors(
        code="321181001150", level=Level.COMMUNITY, kind="village", parent=township, polygon=None
    )
    assert any("200–399" in m for m in errors["code"])


@pytest.mark.django_db
def test_grid_outside_its_community_is_rejected(world):
    community = Region.objects.get(code=world["community"])
    far_away = square(119.88, 32.13, 0.005)
    errors = region_errors(
        code="321181001001901", level=Level.GRID, kind="grid", parent=community, polygon=far_away
    )
    assert any("超出上级区域" in m for m in errors["polygon"])


@pytest.mark.django_db
def test_overlapping_sibling_grids_are_rejected(world):
    grid_a = Region.objects.get(code=world["grid_a"])
    errors = region_errors(
        code="321181001001901",
        level=Level.GRID,
        kind="grid",
        parent=grid_a.parent,
        polygon=grid_a.polygon,
    )
    assert any("重叠" in m and grid_a.code in m for m in errors["polygon"])
    # Editing the grid itself is not an overlap with itself.
    assert (
        region_errors(
            code=grid_a.code,
            level=Level.GRID,
            kind="grid",
            parent=grid_a.parent,
            polygon=grid_a.polygon,
            pk=grid_a.pk,
        )
        == {}
    )


def test_polygon_shape_errors():
    assert polygon_errors({"type": "Point", "coordinates": [1, 2]})
    assert polygon_errors("not geojson")
    assert "经纬度范围" in polygon_errors(square(500, 32, 1))[0]
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert "自相交" in polygon_errors(bow_tie)[0]
    assert polygon_errors(square(119.5, 32.0, 0.01)) == []


@pytest.mark.django_db
def test_admin_rejects_overlapping_grid_with_chinese_message(client_as, world):
    grid_a = Region.objects.get(code=world["grid_a"])
    client = client_as("admin")
    response = client.post(
        "/admin/geo/region/add/",
        {
            "code": "321181001001901",
            "name": "重叠网格",
            "level": "grid",
            "kind": "grid",
            "parent": grid_a.parent_id,
            "urban_rural_class": "111",
            "polygon": __import__("json").dumps(grid_a.polygon),
        },
    )
    assert response.status_code == 200
    assert "重叠" in response.content.decode()
    assert not Region.objects.filter(code="321181001001901").exists()


@pytest.mark.django_db
def test_admin_rejects_invalid_code(client_as, world):
    client = client_as("admin")
    response = client.post(
        "/admin/geo/region/add/",
        {
            "code": "12345",
            "name": "错误",
            "level": "township",
            "kind": "town",
            "parent": Region.objects.get(code=world["city"]).pk,
            "polygon": "null",
        },
    )
    assert response.status_code == 200
    assert "9 位数字" in response.content.decode()
    assert not Region.objects.filter(code="12345").exists()


@pytest.mark.django_db
def test_database_refuses_code_of_wrong_length(world):
    from django.db import IntegrityError, transaction

    parent = Region.objects.get(code=world["community"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(
            code="3211810010019", name="x", level=Level.GRID, kind="grid", parent=parent
        )
