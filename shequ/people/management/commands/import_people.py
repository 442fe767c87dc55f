"""import_people FILE.xlsx --community CODE [--grid CODE] [--dry-run] [--create-missing]
[--user USERNAME]

Validates every row first and writes only a file without errors (all or nothing); the exit
status is non-zero when anything is wrong. --dry-run prints exactly what the import would do
(the same counts and warnings). Estates, buildings and houses the system lacks are errors that
name them, unless --create-missing (then they are created and listed). The file-size cap is the
upload cap of the pages (SHEQU_UPLOAD_MAX_BYTES). Without --user the command runs as the system
operator (no permission check; the audit row has no actor).
"""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from shequ.core.errors import ServiceError
from shequ.people.importing import ENTITIES, check_size, import_file


class Command(BaseCommand):
    help = "从 Excel 导入居民（全部正确才写入）。Import residents from an .xlsx file."

    def add_arguments(self, parser):
        parser.add_argument("file", help=".xlsx 文件")
        parser.add_argument("--community", required=True, help="12 位社区/村代码")
        parser.add_argument("--grid", default="", help="默认网格（15 位代码）")
        parser.add_argument("--dry-run", action="store_true", help="只预览，不写入")
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="新建系统中没有的小区、楼栋和房屋（并列出）",
        )
        parser.add_argument("--user", default="", help="以该账号的权限导入（写入审计）")

    def handle(self, *args, file, community, grid, dry_run, create_missing, user, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"账号不存在：{user}")
        try:
            check_size(path.stat().st_size)  # before reading it
            outcome = import_file(
                path.read_bytes(),
                actor=actor,
                community_code=community,
                default_grid_code=grid,
                dry_run=dry_run,
                create_missing=create_missing,
                progress=self._progress,
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        finally:
            sys.stderr.write("\n")
        if outcome.ignored_headers:
            self.stdout.write("未识别的列（已忽略）：" + "、".join(outcome.ignored_headers))
        for p in outcome.problems:
            self.stdout.write(f"错误 · 第 {p.row} 行 · {p.column} · {p.value} · {p.message}")
        for p in outcome.warnings:
            self.stdout.write(f"提示 · 第 {p.row} 行 · {p.column} · {p.value} · {p.message}")
        if not outcome.ok:
            raise CommandError(f"发现 {len(outcome.problems)} 处错误，未写入任何数据。")
        for key, label in ENTITIES.items():
            counts = outcome.summary[key]
            self.stdout.write(
                f"{label}：新增 {counts['created']}，更新 {counts['updated']}，"
                f"未变化 {counts['unchanged']}"
            )
        for key, names in outcome.new_places.items():
            if names:
                self.stdout.write(f"新建{ENTITIES[key]}：" + "、".join(names))
        if dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"预览（未写入）：{outcome.total} 行，将新增 {outcome.created} 人，"
                    f"更新 {outcome.updated} 人，未变化 {outcome.unchanged} 人；"
                    f"提示 {len(outcome.warnings)} 条。"
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"导入完成：{outcome.total} 行，新增 {outcome.created} 人，更新 {outcome.updated} 人，"
                f"未变化 {outcome.unchanged} 人；提示 {len(outcome.warnings)} 条。"
            )
        )

    @staticmethod
    def _progress(done: int, total: int) -> None:
        sys.stderr.write(f"\r{min(100, done * 100 // max(total, 1))}%")
