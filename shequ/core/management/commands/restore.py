"""python manage.py restore PATH --yes — replace the database with a backup, then verify."""

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from shequ.core import backup


class Command(BaseCommand):
    help = "Restore a backup made by `backup` (stop the web and worker processes first)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup's .json manifest (or its data file)")
        parser.add_argument(
            "--yes", action="store_true", help="confirm: the current data is replaced"
        )
        parser.add_argument(
            "--verify-only", action="store_true", help="only compare the database with it"
        )

    def handle(self, *args, path, yes, verify_only, **options):
        try:
            if verify_only:
                manifest, _data = backup.read_manifest(path)
            else:
                if not yes:
                    raise CommandError(
                        "恢复会覆盖当前数据库的全部数据；确认请加 --yes。"
                        " Restoring replaces all current data; add --yes to confirm."
                    )
                manifest = backup.restore(path)
        except backup.BackupError as error:
            raise CommandError(f"恢复失败：{error}") from error
        problems = backup.verify(manifest)
        if problems:
            raise CommandError("校验失败 / verification failed:\n" + "\n".join(problems))
        if "verify_ledger" in get_commands():
            call_command("verify_ledger")
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            f"校验通过 / verified: {len(manifest['counts'])} tables, {rows} rows match the "
            f"backup of {manifest['created_at']}"
        )
