"""The production process set: `manage.py serve` (what `make serve` runs) starts several
gunicorn processes and a queue worker, answers on its port, runs queued tasks, and stops
cleanly on SIGTERM; production collectstatic works; the demo runs a worker too."""

import sys
import time
from pathlib import Path

import psutil
import pytest

from shequ.demo import processes
from tests.support.processes import START_TIMEOUT, demo_env, manage, running_server

pytestmark = pytest.mark.slow


def test_demo_and_serve_include_the_worker():
    demo = processes.demo_commands("127.0.0.1", 8000)
    assert any("gunicorn" in command for command in demo[0])
    assert demo[1][-1] == "worker"
    serve = processes.serve_commands("127.0.0.1", 8000, web_workers=3, queue_workers=2)
    assert serve[0][serve[0].index("--workers") + 1] == "3"
    assert [command[-1] for command in serve[1:]] == ["worker", "worker"]


def env_for(tmp: Path, **extra) -> dict:
    return demo_env(tmp, f"sqlite:///{tmp}/serve.sqlite3", SHEQU_QUEUE_POLL_SECONDS="0", **extra)


def test_serve_runs_web_processes_and_a_worker(tmp_path):
    env = env_for(tmp_path)
    manage(env, "migrate", "--no-input", "-v0")
    # A task waiting in the queue before the stack starts: the worker must run it.
    manage(
        env,
        "shell",
        "-c",
        "from tests.support.queue_tasks import record; "
        f"record.enqueue({str(tmp_path / 'ran')!r}, 'queued-before-start')",
    )

    def serve(port: int) -> list[str]:
        return [sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "2"]

    with running_server(serve, env, tmp_path / "serve.log") as server:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not (tmp_path / "ran").exists():
            time.sleep(0.2)
        assert (tmp_path / "ran").read_text().startswith("queued-before-start")
        # The children's full command lines (psutil reads /proc/<pid>/cmdline: `ps -o args=`
        # truncated them when the checkout lies in a deep folder).
        children = [" ".join(c.cmdline()) for c in psutil.Process(server.process.pid).children()]
        assert any("gunicorn" in c for c in children), children
        assert any(c.split()[-1:] == ["worker"] for c in children), children
    # Leaving the block sent SIGTERM to `serve` alone: it stops its children itself.
    assert "2 web process(es) and 1 queue worker(s)" in server.output()
    assert server.process.returncode == 0


def test_production_collectstatic(tmp_path):
    env = env_for(
        tmp_path,
        SHEQU_ENV="production",
        SECRET_KEY="x" * 60,
        SHEQU_DATA_KEY="k2:" + "A" * 43,
        ALLOWED_HOSTS="shequ.example.cn",
    )
    manage(env, "collectstatic", "--no-input", "-v0", timeout=300)
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/leaflet/leaflet.js" in manifest
