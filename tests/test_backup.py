"""Backup and restore round trip on a real database file (SQLite) or a throwaway PostgreSQL
database (when DATABASE_URL points at PostgreSQL), through the management commands."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("backup")
    outer = os.environ.get("DATABASE_URL", "")
    drop = None
    if outer.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(outer)
        name = f"{parts.path.lstrip('/')}_backup_{os.getpid()}"
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(parts._replace(path=f"/{name}"))

        def drop():
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        url = f"sqlite:///{tmp}/site.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    env.update(SHEQU_ENV="demo", SHEQU_VAR_DIR=str(tmp), DATABASE_URL=url)

    def manage(*args, check=True):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    manage("migrate", "--no-input", "-v0")
    manage("seed_demo")
    yield {"manage": manage, "tmp": tmp}
    if drop:
        drop()


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
