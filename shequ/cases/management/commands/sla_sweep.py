"""sla_sweep: run one SLA sweep now (the background worker runs it every minute)."""

import json

from django.core.management.base import BaseCommand
from django.utils.dateparse import parse_datetime

from shequ.cases.sla import sla_sweep


class Command(BaseCommand):
    help = "执行一次案件时限巡检（变黄、超期督办、升级、通知）。Run one SLA sweep."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="ISO 8601 time to sweep at (default: now)")

    def handle(self, *args, at=None, **options):
        now = parse_datetime(at) if at else None
        result = sla_sweep(now=now)
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
