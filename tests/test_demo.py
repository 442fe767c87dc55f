"""Demo data: the expected shape at small scale, and determinism across runs."""

from pathlib import Path

import pytest

from shequ.core.regions import Level
from shequ.demo import danyang
from shequ.geo.models import Building, Estate, FunctionalZone, House, Region
from tests.support.processes import demo_env, manage, seeded_demo_site


@pytest.mark.django_db
def test_small_scale_shape():
    townships = Region.objects.filter(level=Level.TOWNSHIP)
    assert sorted(townships.values_list("code", flat=True)) == sorted(
        t[0] for t in danyang.TOWNSHIPS
    )
    assert set(townships.values_list("name", flat=True)) >= {
        "云阳街道",
        "曲阿街道",
        "延陵镇",
        "丹北镇",
    }
    assert 50 <= Region.objects.filter(level=Level.COMMUNITY).count() <= 70
    assert 250 <= Region.objects.filter(level=Level.GRID).count() <= 350
    assert Building.objects.count() > 1000 and House.objects.count() > 10000
    # Real names and codes from the reference are used.
    assert Region.objects.get(code="321181101002").name == "麦中路社区"
    assert Region.objects.get(code="321181101200").name == "东皇村"
    assert not Region.objects.get(code="321181101002").is_synthetic
    assert Region.objects.get(code=danyang.FLAGSHIP_CODE).is_synthetic
    # Functional zones point at townships.
    zone = FunctionalZone.objects.get(name="丹阳经济开发区")
    assert list(zone.townships.values_list("code", flat=True)) == ["321181002"]
    # Every grid has a worker; every building lies in its grid; estates of the flagship have
    # property companies.
    from shequ.accounts.models import Assignment

    grids = set(Region.objects.filter(level=Level.GRID).values_list("code", flat=True))
    staffed = set(
        Assignment.objects.filter(role="grid_worker").values_list("region__code", flat=True)
    )
    assert grids == staffed
    assert not Estate.objects.filter(
        region_code__startswith=danyang.FLAGSHIP_CODE, kind="estate", property_company__isnull=True
    ).exists()


@pytest.mark.django_db
def test_buildings_lie_in_their_grid():
    from shequ.geo.locate import locate_many

    rows = list(Building.objects.values_list("region_code", "lat", "lng")[:3000])
    located = locate_many([r[1] for r in rows], [r[2] for r in rows])
    mismatched = [r for r, code in zip(rows, located, strict=True) if code != r[0]]
    assert len(mismatched) <= len(rows) * 0.002  # only points on a rounded shared edge


def seed_in_subprocess(tmp_path: Path, seed: int) -> str:
    env = demo_env(tmp_path, f"sqlite:///{tmp_path}/demo.sqlite3", SHEQU_DEMO_PASSWORD="x-demo")
    seeded_demo_site(env, "--seed", str(seed))
    return manage(env, "demo_digest").stdout.strip()


@pytest.mark.slow
def test_seeding_is_deterministic(tmp_path):
    first = seed_in_subprocess(tmp_path / "a", 7)
    second = seed_in_subprocess(tmp_path / "b", 7)
    other = seed_in_subprocess(tmp_path / "c", 8)
    assert first == second
    assert first != other


@pytest.mark.django_db
def test_seed_demo_refuses_a_populated_database():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("seed_demo")
    call_command("seed_demo", "--if-empty")  # quietly does nothing
