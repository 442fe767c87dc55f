"""The production process set: `manage.py serve` (what `make serve` runs) starts several
gunicorn processes and a queue worker, answers on its port, runs queued tasks, and stops
cleanly on SIGTERM; production collectstatic works; the demo runs a worker too."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from shequ.demo import processes
from tests.browser.conftest import _free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_demo_and_serve_include_the_worker():
    demo = processes.demo_commands("127.0.0.1", 8000)
    assert any("gunicorn" in command for command in demo[0])
    assert demo[1][-1] == "worker"
    serve = processes.serve_commands("127.0.0.1", 8000, web_workers=3, queue_workers=2)
    assert serve[0][serve[0].index("--workers") + 1] == "3"
    assert [command[-1] for command in serve[1:]] == ["worker", "worker"]


def env_for(tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    env.update(
        SHEQU_ENV="demo",
        SHEQU_VAR_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp}/serve.sqlite3",
        SHEQU_QUEUE_POLL_SECONDS="0",
    )
    env.update(extra)
    return env


def test_serve_runs_web_processes_and_a_worker(tmp_path):
    env = env_for(tmp_path)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    # A task waiting in the queue before the stack starts: the worker must run it.
    subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            "from tests.queue_tasks import record; "
            f"record.enqueue({str(tmp_path / 'ran')!r}, 'queued-before-start')",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        [*manage, "serve", "--port", str(port), "--web-workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180  # a loaded 2-core machine boots slowly
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("serve did not answer")
        while time.monotonic() < deadline and not (tmp_path / "ran").exists():
            time.sleep(0.2)
        assert (tmp_path / "ran").read_text().startswith("queued-before-start")
        # The children's full command lines (psutil reads /proc/<pid>/cmdline: `ps -o args=`
        # truncated them when the checkout lies in a deep folder).
        children = [" ".join(c.cmdline()) for c in psutil.Process(server.pid).children()]
        assert any("gunicorn" in c for c in children), children
        assert any(c.split()[-1:] == ["worker"] for c in children), children
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=40)[0].decode()
    assert "2 web process(es) and 1 queue worker(s)" in output
    assert server.returncode == 0


def test_production_collectstatic(tmp_path):
    env = env_for(
        tmp_path,
        SHEQU_ENV="production",
        SECRET_KEY="x" * 60,
        SHEQU_DATA_KEY="k2:" + "A" * 43,
        ALLOWED_HOSTS="shequ.example.cn",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/leaflet/leaflet.js" in manifest
