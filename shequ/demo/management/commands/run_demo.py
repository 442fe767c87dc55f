"""Run the demo stack in the foreground: the web server (gunicorn) and the task-queue
worker. Ctrl+C stops everything."""

import os
import sys

from django.core.management.base import BaseCommand

from shequ.core import metrics
from shequ.demo import processes


class Command(BaseCommand):
    help = "Run the web server and the worker for the demo."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        metrics.clear_process_files()  # samples of an earlier run
        sys.exit(processes.supervise(processes.demo_commands(host, port)))
