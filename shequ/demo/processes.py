"""The processes of a running Shequ: web server and (when there is background work) worker."""

import sys


def web_command(host: str, port: int, *, workers: int = 2, threads: int = 4) -> list[str]:
    return [
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
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "--graceful-timeout",
        "10",
    ]


def demo_commands(host: str, port: int) -> list[list[str]]:
    return [web_command(host, port)]
