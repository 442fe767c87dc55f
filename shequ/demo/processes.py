"""The processes of a running Shequ: web server (gunicorn) and task-queue worker(s).

`make demo` runs `demo_commands` (one small gunicorn + one worker); `make serve` and the
production units run `serve_commands` (several gunicorn workers + the queue workers). Both are
supervised by `supervise()`: when one process dies, the others are stopped too, so a process
manager (systemd, the container runtime) sees the failure and restarts the whole set.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MANAGE = str(Path(__file__).resolve().parents[2] / "manage.py")


def web_command(
    host: str,
    port: int,
    *,
    workers: int = 2,
    threads: int = 4,
    access_log: bool = True,
    max_requests: int = 0,
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "shequ.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--error-logfile",
        "-",
        "--graceful-timeout",
        "10",
        "--config",
        "python:shequ.core.gunicorn_conf",  # metrics bookkeeping when a worker exits
        # gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl): several
        # servers on one machine (tests, benchmarks) would take it from each other. Unused here.
        "--no-control-socket",
    ]
    if access_log:
        command += ["--access-logfile", "-"]
    if max_requests:  # recycle workers now and then (guards against slow leaks)
        command += ["--max-requests", str(max_requests), "--max-requests-jitter", "50"]
    return command


def worker_command(*extra: str) -> list[str]:
    return [sys.executable, MANAGE, "worker", *extra]


def demo_commands(host: str, port: int) -> list[list[str]]:
    return [web_command(host, port), worker_command()]


def default_web_workers() -> int:
    return min(8, 2 * (os.cpu_count() or 1) + 1)


def serve_commands(
    host: str, port: int, *, web_workers: int | None = None, queue_workers: int = 1
) -> list[list[str]]:
    """Production layout: gunicorn with several processes (our JSON request log replaces
    gunicorn's access log) and `queue_workers` task workers."""
    web = web_command(
        host,
        port,
        workers=web_workers or default_web_workers(),
        threads=4,
        access_log=False,
        max_requests=2000,
    )
    return [web] + [worker_command() for _ in range(queue_workers)]


def supervise(commands: list[list[str]], *, env: dict | None = None) -> int:
    """Run the commands until one exits or we are told to stop; return the exit code.

    The children run in their own process group, so a Ctrl+C in the terminal reaches only this
    supervisor, which then stops each child once with SIGTERM (gunicorn and the worker finish
    cleanly, no tracebacks) and returns 0: being asked to stop (SIGINT, SIGTERM, SIGHUP) is not
    a failure, and `make demo` ends without a make error. A second Ctrl+C kills at once. When a
    child exits by itself, the others are stopped and its exit code is returned."""
    children: list[subprocess.Popen] = []
    stopping = False

    def request_stop(signum=None, frame=None):
        nonlocal stopping
        if stopping:  # asked twice: do not wait for a graceful stop
            for child in children:
                if child.poll() is None:
                    child.kill()
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    for command in commands:
        if stopping:
            break
        children.append(subprocess.Popen(command, env=env, process_group=0))
    code = 0
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    if not stopping:
        code = next(child.returncode for child in children if child.poll() is not None)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return code
