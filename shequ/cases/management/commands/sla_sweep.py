"""sla_sweep: run one pass of the one deadline sweep now (the closed loop's SLA sweep and every
other participant, then the Deadline rows; the background worker runs it every minute as the
periodic job "core.deadlines_sweep")."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from shequ.core.deadlines import deadlines_sweep


class Command(BaseCommand):
    help = "执行一次时限巡检（变黄、超期督办、升级、通知）。Run one deadline sweep."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="ISO 8601 time to sweep at (default: now)")

    def handle(self, *args, at=None, **options):
        now = parse_datetime(at) if at else None
        if at and now is None:
            raise CommandError(f"--at is not an ISO 8601 time: {at!r}")
        result = deadlines_sweep(now=now)
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
