"""python manage.py backup [--output PATH] — a consistent, verified backup of the database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shequ.core import backup


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup / pg_dump) with a verified manifest."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="path without extension (default var/backups/…)")

    def handle(self, *args, output, **options):
        try:
            manifest_path = backup.backup(Path(output) if output else None)
            manifest, data = backup.read_manifest(manifest_path)  # re-read: checksum holds
        except backup.BackupError as error:
            raise CommandError(f"备份失败：{error}") from error
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            f"备份完成 / backup written: {data} ({data.stat().st_size} bytes, "
            f"{len(manifest['counts'])} tables, {rows} rows); manifest {manifest_path}"
        )
