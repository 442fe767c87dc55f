"""Backup and restore round trip on a real database file (SQLite) or a throwaway PostgreSQL
database (when DATABASE_URL points at PostgreSQL), through the management commands."""

import functools
import json

import pytest

from tests.support.processes import demo_env, manage, scratch_database, seeded_demo_site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("backup")
    with scratch_database(tmp, "site") as url:
        env = demo_env(tmp, url)
        seeded_demo_site(env)
        yield {"manage": functools.partial(manage, env, timeout=600), "tmp": tmp}


def shell(site, code: str) -> str:
    return site["manage"]("shell", "-c", code).stdout.strip()


COUNTS = (
    "from shequ.geo.models import House, Region; from shequ.accounts.models import User; "
    "print(House.objects.count(), User.objects.count(), "
    "Region.objects.filter(level='grid').order_by('code').first().name)"
)


def test_round_trip(site):
    before = shell(site, COUNTS)
    out = site["manage"]("backup", "--output", str(site["tmp"] / "b1")).stdout
    assert "backup written" in out
    manifest = json.loads((site["tmp"] / "b1.json").read_text())
    assert manifest["counts"]["geo_house"] > 0
    assert manifest["counts"]["accounts_user"] >= 9
    assert manifest["migrations"]["queue"] == "0001_initial"

    # Damage the live data: rename a grid, delete houses, add a user.
    shell(
        site,
        "from shequ.geo.models import House, Region; from shequ.accounts.models import User; "
        "g = Region.objects.filter(level='grid').order_by('code').first(); "
        "Region.objects.filter(pk=g.pk).update(name='被改掉的名字'); "
        "House.objects.filter(pk__in=list(House.objects.filter(current_residents__isnull=True, person_links__isnull=True, households__isnull=True).values_list('pk', flat=True)[:50]))"
        ".delete(); User.objects.create(username='intruder')",
    )
    assert shell(site, COUNTS) != before
    drift = site["manage"]("restore", str(site["tmp"] / "b1.json"), "--verify-only", check=False)
    assert drift.returncode != 0
    assert "geo_house: expected" in drift.stderr and "accounts_user: expected" in drift.stderr

    refused = site["manage"]("restore", str(site["tmp"] / "b1.json"), check=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr

    restored = site["manage"]("restore", str(site["tmp"] / "b1.json"), "--yes")
    assert "verified" in restored.stdout
    assert shell(site, COUNTS) == before


def test_damaged_backup_is_refused(site):
    site["manage"]("backup", "--output", str(site["tmp"] / "b2"))
    manifest = json.loads((site["tmp"] / "b2.json").read_text())
    data = site["tmp"] / manifest["data_file"]
    with open(data, "r+b") as handle:
        handle.seek(data.stat().st_size // 2)
        handle.write(b"\x00garbage\x00")
    refused = site["manage"]("restore", str(site["tmp"] / "b2.json"), "--yes", check=False)
    assert refused.returncode != 0
    assert "checksum mismatch" in refused.stderr
