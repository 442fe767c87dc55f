"""Run the demo stack in the foreground: the web server (gunicorn) and, once there is
background work, the worker. Ctrl+C stops everything."""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from shequ.demo import processes


class Command(BaseCommand):
    help = "Run the web server (and worker) for the demo."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        children = [subprocess.Popen(cmd) for cmd in processes.demo_commands(host, port)]

        def stop(signum=None, frame=None):
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        try:
            while True:
                for child in children:
                    code = child.poll()
                    if code is not None:  # one process died: stop the others too
                        stop()
                        sys.exit(code)
                time.sleep(0.5)
        except KeyboardInterrupt:
            stop()
            for child in children:
                child.wait(timeout=15)
