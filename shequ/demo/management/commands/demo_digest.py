"""Print a SHA-256 digest of the demo data (used to check that seeding is deterministic)."""

import hashlib

from django.core.management.base import BaseCommand

from shequ.demo.seeding import digest_querysets


class Command(BaseCommand):
    help = "Digest of the seeded data (regions, dwellings, accounts)."

    def handle(self, *args, **options):
        digest = hashlib.sha256()
        for label, rows in digest_querysets():
            for row in rows:
                digest.update(repr((label, row)).encode())
        self.stdout.write(digest.hexdigest())
