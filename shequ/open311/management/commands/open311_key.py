"""Manage Open311 application keys from the shell.

    manage.py open311_key create NAME [--key KEY] [--rate-limit PER_MINUTE] [--can-post-updates]
    manage.py open311_key revoke NAME
    manage.py open311_key list

`create` prints the key (only its hash is stored). Run again with the same NAME and --key, it
updates that key's rate limit and permission instead (idempotent).
"""

from django.core.management.base import BaseCommand, CommandError

from shequ.core.errors import ServiceError
from shequ.open311.keys import api_key_create, api_key_revoke, api_key_update
from shequ.open311.models import DEFAULT_RATE_LIMIT, ApiKey


class Command(BaseCommand):
    help = "Create, revoke or list Open311 application keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key and print it")
        create.add_argument("name")
        create.add_argument("--key", help="use this key instead of a random one")
        create.add_argument(
            "--rate-limit",
            type=int,
            default=DEFAULT_RATE_LIMIT,
            help="requests per minute (default %(default)s)",
        )
        create.add_argument(
            "--can-post-updates", action="store_true", help="allow POST servicerequestupdates"
        )
        revoke = sub.add_parser("revoke", help="revoke the key of an application")
        revoke.add_argument("name")
        sub.add_parser("list", help="list keys (never the keys themselves)")

    @staticmethod
    def _exists(options) -> bool:
        return bool(options.get("key")) and ApiKey.objects.filter(name=options["name"]).exists()

    def handle(self, *args, action, **options):
        try:
            if action == "create" and self._exists(options):
                row = api_key_update(
                    name=options["name"],
                    key=options["key"],
                    rate_limit=options["rate_limit"],
                    can_post_updates=options["can_post_updates"],
                )
                self.stdout.write(options["key"])
            elif action == "create":
                _row, plaintext = api_key_create(
                    name=options["name"],
                    key=options.get("key"),
                    rate_limit=options["rate_limit"],
                    can_post_updates=options["can_post_updates"],
                )
                self.stdout.write(plaintext)
            elif action == "revoke":
                row = api_key_revoke(name=options["name"])
                self.stdout.write(f"revoked {row.name} ({row.prefix}…)")
            else:
                for row in ApiKey.objects.order_by("name"):
                    state = "revoked" if row.is_revoked else "active"
                    self.stdout.write(
                        f"{row.name}\t{row.prefix}…\t{row.rate_limit}/min\t"
                        f"updates={'yes' if row.can_post_updates else 'no'}\t{state}"
                    )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
