"""rotate_data_key: re-encrypt every personal-data value under the active key.

Rotation: generate a key (`new_data_key k2`), put it FIRST in SHEQU_DATA_KEY and keep the old
one after it ("k2:…,k1:…"), restart, run this command, check with `--verify`, then remove the
old key. Safe to interrupt and run again; lookups work throughout.
"""

from django.core.management.base import BaseCommand, CommandError

from shequ.core import crypto, rotation


class Command(BaseCommand):
    help = "用当前密钥重新加密全部个人信息并重算查找哈希。Re-encrypt all personal data."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="只统计需要重新加密的行数")
        parser.add_argument("--verify", action="store_true", help="只检查：是否全部已在当前密钥下")

    def handle(self, *args, batch_size, dry_run, verify, **options):
        if verify:
            try:
                remaining = rotation.verify()
            except crypto.DecryptionError as exc:
                raise CommandError(f"有数据无法解密：{exc}") from exc
            for label, n in remaining.items():
                self.stdout.write(f"  {label}: {n}")
            if any(remaining.values()):
                raise CommandError("仍有数据未使用当前密钥加密，请运行 rotate_data_key。")
            self.stdout.write(self.style.SUCCESS("全部数据均已使用当前密钥加密。"))
            return
        self.stdout.write(f"当前密钥：{crypto.active_key_id()}" + ("（仅统计）" if dry_run else ""))
        try:
            done = rotation.rotate(batch_size=batch_size, dry_run=dry_run, log=self.stdout.write)
        except crypto.DecryptionError as exc:
            raise CommandError(
                f"有数据无法解密（{exc}）：旧密钥是否仍在 SHEQU_DATA_KEY 中？已完成的批次不受影响。"
            ) from exc
        verb = "需要重新加密" if dry_run else "已重新加密"
        self.stdout.write(self.style.SUCCESS(f"{verb} {sum(done.values())} 行。"))
