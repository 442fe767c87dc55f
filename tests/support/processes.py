"""Real Shequ processes for the tests that need them: a scratch database, the environment of a
demo site, `manage.py` in a subprocess, and a server on a free port that answers /healthz.

Used by the browser servers (tests/browser/conftest.py, test_security_pages.py), the queue
workers, backup, serve, demo seeding, the database-file scan (test_people_privacy.py) and the
gunicorn access-log test. One copy of each step, so every one of them follows DATABASE_URL the
same way: a SQLite file by default, a fresh PostgreSQL database beside the outer one when
DATABASE_URL points at PostgreSQL.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
# A loaded 2-core machine (CI beside other work) boots a server slowly.
START_TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def scratch_database(tmp: Path, label: str) -> Iterator[str]:
    """The URL of an empty database named after `label`, dropped afterwards: `<tmp>/<label>.sqlite3`,
    or `<outer name>_<label>_<pid>` on the outer PostgreSQL server (never the test database)."""
    outer = os.environ.get("DATABASE_URL", "")
    if not outer.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp}/{label}.sqlite3"
        return
    parts = urlsplit(outer)
    name = f"{parts.path.lstrip('/')}_{label}_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))

    def run(sql: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def demo_env(tmp: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a demo site in `tmp`: none of the outer SHEQU_* settings (the test
    settings) leak in; `extra` adds or overrides variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    env.update(
        SHEQU_ENV="demo", SHEQU_VAR_DIR=str(tmp), DATABASE_URL=database_url, PYTHONUNBUFFERED="1"
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, check: bool = True, timeout: float = 900):
    """`manage.py <args>` in a subprocess (text output captured); with `check`, a failure fails
    the test and shows the command's output."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, (
            f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
        )
    return result


def seeded_demo_site(env: dict, *seed_args: str) -> None:
    """Migrate the site's database and seed the demo data into it, as `make demo` does."""
    manage(env, "migrate", "--no-input", "-v0")
    manage(env, "seed_demo", *seed_args)


def run_check(tmp: Path, **env: str):
    """Start Django (settings and apps) in a fresh demo-mode interpreter with `env` on top of a
    clean environment: how a configuration value behaves at start-up."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHEQU_") and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    environment.update({"SHEQU_VAR_DIR": str(tmp), "SHEQU_ENV": "demo"})
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ok')"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "shequ.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text()


@contextlib.contextmanager
def running_server(
    command: Callable[[int], list[str]], env: dict, log: Path, *, stop_timeout: float = 40
) -> Iterator[Server]:
    """Start `command(port)` on a free port (output to `log`) and yield once /healthz answers
    200. On leaving: SIGTERM to the process itself (it stops its own children, which is what
    `manage.py serve` is tested for), then SIGKILL to its whole session if it hangs."""
    port = free_port()
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command(port),
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        wait_for_health(server)
        yield server
    finally:
        stop(process, timeout=stop_timeout)


def wait_for_health(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"the server did not answer on {server.url}/healthz:\n{server.output()[-3000:]}")


def stop(process: subprocess.Popen, *, timeout: float = 40) -> None:
    """SIGTERM and wait; a process that hangs is killed (with its session, when it leads one)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # when it leads a session: its children too
        process.kill()
        process.wait()
