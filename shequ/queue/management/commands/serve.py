"""python manage.py serve — the production process set: gunicorn (several processes) and the
task-queue worker(s), supervised together. Run collectstatic and migrate first (`make serve`
does)."""

import os
import sys

from django.core.management.base import BaseCommand

from shequ.core import metrics
from shequ.demo import processes


class Command(BaseCommand):
    help = "Run gunicorn with several workers plus the task-queue worker(s)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--web-workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", 0)) or None,
            help="gunicorn processes (default: 2 × CPU + 1, at most 8; or WEB_CONCURRENCY)",
        )
        parser.add_argument(
            "--queue-workers", type=int, default=int(os.environ.get("QUEUE_WORKERS", 1))
        )

    def handle(self, *args, port, host, web_workers, queue_workers, **options):
        commands = processes.serve_commands(
            host, port, web_workers=web_workers, queue_workers=queue_workers
        )
        self.stdout.write(
            f"serving on http://{host}:{port} with {commands[0][commands[0].index('--workers') + 1]}"
            f" web process(es) and {queue_workers} queue worker(s)"
        )
        metrics.clear_process_files()  # samples of an earlier run
        sys.exit(processes.supervise(commands))
