"""The production stack for the HTTP benchmarks, started on a benchmark database.

`ProductionStack` runs `manage.py serve` (gunicorn with several processes + the queue worker)
or a single gunicorn worker, under SHEQU_ENV=production, on 127.0.0.1 and a free port, with the
benchmark database's own secret and data keys (so sessions made by the benchmark process and
the residents' encrypted fields are valid in the server) and Redis as the cache when one
answers on 127.0.0.1:6379 (as in production; otherwise each process has its own memory cache).
Everything the server writes goes to the benchmark's var directory.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.common import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_available(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), 1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def production_env(var_dir: Path, database_url: str, *, redis_db: int = 7) -> dict:
    """Environment of a production process on the benchmark database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    env.update(
        SHEQU_ENV="production",
        SECRET_KEY=_secret(var_dir, "secret_key"),
        SHEQU_DATA_KEY=_secret(var_dir, "data_key"),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        SHEQU_VAR_DIR=str(var_dir),
        SHEQU_REQUIRE_TOTP="0",
        SHEQU_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        DJANGO_SETTINGS_MODULE="shequ.settings",
    )
    if redis_available():
        env["SHEQU_CACHE_URL"] = f"redis://127.0.0.1:6379/{redis_db}"
    return env


def _secret(var_dir: Path, name: str) -> str:
    """The demo-mode secret the benchmark database was seeded with (settings create it)."""
    path = var_dir / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: configure the benchmark database first")
    return path.read_text().strip()


class ProductionStack:
    """`with ProductionStack(...) as stack:` — started, healthy, stopped (whole group)."""

    def __init__(
        self,
        var_dir: Path,
        database_url: str,
        *,
        web_workers: int = 4,
        single_worker: bool = False,
        threads: int = 4,
        extra_env: dict | None = None,
    ):
        self.var_dir = Path(var_dir)
        self.env = production_env(self.var_dir, database_url) | (extra_env or {})
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.web_workers = web_workers
        self.single_worker = single_worker
        self.threads = threads
        self.process: subprocess.Popen | None = None
        self.log_path = self.var_dir / "stack.log"

    @property
    def cache(self) -> str:
        return "redis" if "SHEQU_CACHE_URL" in self.env else "per-process memory"

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=600,
        )

    def command(self) -> list[str]:
        if self.single_worker:
            # One gunicorn worker without recycling (--max-requests): the memory benchmark
            # watches this one process.
            return [
                sys.executable,
                "-m",
                "gunicorn",
                "shequ.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                str(self.threads),
                "--error-logfile",
                "-",
            ]
        return [
            sys.executable,
            str(ROOT / "manage.py"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--web-workers",
            str(self.web_workers),
        ]

    def __enter__(self) -> "ProductionStack":
        self.manage("collectstatic", "--no-input", "-v0")
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped together
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.get("/healthz") == 200:
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError("the production stack did not start:\n" + self.log_tail())

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def get(self, path: str, headers: dict | None = None) -> int:
        request = urllib.request.Request(
            self.base_url + path, headers={"X-Forwarded-Proto": "https", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text()[-chars:]
        except OSError:
            return ""

    def web_worker_pids(self) -> list[int]:
        """gunicorn worker processes (children of the gunicorn master)."""
        import psutil

        assert self.process is not None, "start() first"
        root = psutil.Process(self.process.pid)
        workers = []
        for proc in [root, *root.children(recursive=True)]:
            try:
                cmdline = " ".join(proc.cmdline())
                parent = proc.parent()
                parent_cmd = " ".join(parent.cmdline()) if parent else ""
            except psutil.Error:
                continue
            if "gunicorn" in cmdline and "gunicorn" in parent_cmd:
                workers.append(proc.pid)
        return workers
