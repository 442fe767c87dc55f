"""Consistent backups and verified restores of the whole database.

SQLite: the online backup API copies a consistent snapshot while the site keeps running.
PostgreSQL: `pg_dump --format=custom` run on a snapshot exported from an open REPEATABLE READ
transaction, so the row counts written to the manifest are those of exactly the data dumped.

Each backup is two files: the data (`.sqlite3` or `.pgdump`) and a manifest (`.json`: engine,
time, migrations, row count per table, SHA-256 of the data file). `restore` checks the
checksum, loads the data, then verifies the row counts (and runs `verify_ledger` when the
points ledger exists). Media files are not in the database backup: copy MEDIA_ROOT (or use the
object store's versioning) alongside, see docs/operations.md.
"""

import hashlib
import json
import os
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import psycopg
from django.apps import apps
from django.conf import settings
from django.db import connection, connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

MANIFEST_VERSION = 1


class BackupError(Exception):
    pass


def table_names() -> list[str]:
    """Tables of installed models (Django's own included), sorted."""
    names = set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            names.add(model._meta.db_table)
    return sorted(names)


def _count_with(cursor, quote, tables) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 - model table names
        counts[table] = cursor.fetchone()[0]
    return counts


def live_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        return _count_with(cursor, connection.ops.quote_name, table_names())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def default_path() -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Path(settings.VAR_DIR) / "backups" / f"shequ-{stamp}"


def _pg_env(db: dict) -> dict:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def backup(path: Path | None = None) -> Path:
    """Write a backup; return the manifest's path."""
    base = Path(path) if path else default_path()
    base.parent.mkdir(parents=True, exist_ok=True)
    db = connection.settings_dict
    tables = table_names()
    if connection.vendor == "sqlite":
        data = base.with_suffix(".sqlite3")
        connection.ensure_connection()
        target = sqlite3.connect(data)
        try:
            connection.connection.backup(target)  # the online backup API
            counts = _count_with(target.cursor(), lambda name: f'"{name}"', tables)
        finally:
            target.close()
    elif connection.vendor == "postgresql":
        data = base.with_suffix(".pgdump")
        params = {
            "dbname": db["NAME"],
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
        }
        with psycopg.connect(**{k: v for k, v in params.items() if v}) as snap:
            snap.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = snap.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None  # the function always returns one row
            snapshot = row[0]
            counts = _count_with(
                snap.cursor(), lambda name: '"' + name.replace('"', '""') + '"', tables
            )
            result = subprocess.run(
                [
                    "pg_dump",
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--no-owner",
                    f"--file={data}",
                    db["NAME"],
                ],
                env=_pg_env(db),
                capture_output=True,
                text=True,
            )
            snap.execute("COMMIT")
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    else:  # pragma: no cover
        raise BackupError(f"unsupported database {connection.vendor}")
    manifest = {
        "version": MANIFEST_VERSION,
        "engine": connection.vendor,
        "created_at": timezone.now().isoformat(),
        "data_file": data.name,
        "sha256": _sha256(data),
        "migrations": _migrations(),
        "counts": counts,
    }
    manifest_path = base.with_suffix(".json")
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest_path


def read_manifest(path: Path) -> tuple[dict, Path]:
    path = Path(path)
    manifest_path = path if path.suffix == ".json" else path.with_suffix(".json")
    if not manifest_path.exists():
        raise BackupError(f"no manifest at {manifest_path}")
    manifest = json.loads(manifest_path.read_text())
    data = manifest_path.parent / manifest["data_file"]
    if not data.exists():
        raise BackupError(f"data file missing: {data}")
    if _sha256(data) != manifest["sha256"]:
        raise BackupError(f"checksum mismatch: {data} is damaged or was changed")
    return manifest, data


def restore(path: Path) -> dict:
    """Replace the database's contents with a backup's. Stop web and workers first."""
    manifest, data = read_manifest(path)
    if manifest["engine"] != connection.vendor:
        raise BackupError(
            f"backup is from {manifest['engine']}, this database is {connection.vendor}"
        )
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        connections.close_all()
        source = sqlite3.connect(data)
        target = sqlite3.connect(db["NAME"])
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
    else:
        connections.close_all()
        result = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={db['NAME']}",
                str(data),
            ],
            env=_pg_env(db),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    return manifest


def verify(manifest: dict) -> list[str]:
    """Differences between the database and a manifest's row counts ([] = identical)."""
    problems = []
    counts = live_counts()
    for table, expected in manifest["counts"].items():
        actual = counts.get(table)
        if actual != expected:
            problems.append(f"{table}: expected {expected} rows, found {actual}")
    return problems


def age_of(manifest: dict) -> float:
    return (timezone.now() - datetime.fromisoformat(manifest["created_at"])).total_seconds()
