"""python manage.py totp_reset USERNAME --reason … — remove a lost authenticator (audited)."""

from django.core.management.base import BaseCommand, CommandError

from shequ.accounts.models import User
from shequ.accounts.second_factor import totp_reset


class Command(BaseCommand):
    help = "Reset a user's second factor; they set it up again at the next login."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, username, reason, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户 {username} 不存在。 No such user.")
        totp_reset(user=user, reason=reason)
        self.stdout.write(f"{username}: 两步验证已重置 / second factor reset")
