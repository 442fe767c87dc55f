"""python manage.py run_periodic --once — run the due periodic jobs in this process."""

import importlib

from django.core.management.base import BaseCommand

from shequ.queue.periodic import run_due_now


class Command(BaseCommand):
    help = "Run periodic jobs that are due (once per period, shared with the workers)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run once and exit (default)")
        parser.add_argument("--force", action="store_true", help="run every job, due or not")
        parser.add_argument("--import", action="append", dest="imports", default=[])

    def handle(self, *args, once, force, imports, **options):
        for module in imports:
            importlib.import_module(module)
        for name in run_due_now(force=force):
            self.stdout.write(f"ran {name}")
