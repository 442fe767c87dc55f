"""Print a new key for SHEQU_DATA_KEY ("id:base64"), e.g. to start a key rotation."""

from django.core.management.base import BaseCommand, CommandError

from shequ.settings import new_data_key


class Command(BaseCommand):
    help = "生成新的个人信息加密密钥。Print a new SHEQU_DATA_KEY entry."

    def add_arguments(self, parser):
        parser.add_argument("key_id", nargs="?", default="k1", help="key id, 1–16 letters/digits")

    def handle(self, *args, key_id, **options):
        if not key_id.isalnum() or len(key_id) > 16:
            raise CommandError("密钥编号应为 1–16 位字母或数字。")
        self.stdout.write(new_data_key(key_id))
