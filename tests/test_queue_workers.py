"""The queue with real worker processes: queued work survives a worker killed with SIGKILL in
the middle of a task, and a periodic job runs once per period with two workers.

Each test database here is a throwaway one (a SQLite file, or a fresh PostgreSQL database when
DATABASE_URL points at PostgreSQL) shared by the test and the `manage.py worker` processes; the
Redis variants use a private key prefix.
"""

import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connections
from django.tasks import TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend

from shequ.queue.backends.database import DatabaseBackend
from shequ.queue.models import PeriodicRun, QueuedTask
from shequ.settings import database_from_url
from tests.support import queue_tasks
from tests.support.processes import ROOT, demo_env, manage, scratch_database, stop

pytestmark = pytest.mark.slow
ALIAS = "workers"


@pytest.fixture(scope="module")
def worker_database(tmp_path_factory, django_db_blocker):
    """A migrated database for the worker processes, also reachable here as ALIAS."""
    # Playwright's sync API (the browser tests, same session) leaves an event loop marked as
    # running in this thread, and Django then refuses to open a new connection here. Our use
    # is plainly synchronous.
    allow = pytest.MonkeyPatch()
    allow.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    tmp = tmp_path_factory.mktemp("queue-workers")
    with scratch_database(tmp, "queue") as url:
        env = demo_env(
            tmp,
            url,
            SHEQU_QUEUE_LEASE_SECONDS="2",
            SHEQU_QUEUE_BACKOFF_BASE="1",
            SHEQU_QUEUE_POLL_SECONDS="0",
        )
        manage(env, "migrate", "--no-input", "-v0", timeout=300)
        configured = connections.configure_settings(
            {"default": connections.settings["default"], ALIAS: database_from_url(url)}
        )
        connections.settings[ALIAS] = configured[ALIAS]
        with django_db_blocker.unblock():
            yield {"url": url, "tmp": tmp, "env": env}
            connections[ALIAS].close()
        del connections.settings[ALIAS]
    allow.undo()


@pytest.fixture
def setup(worker_database):
    """(backend seen from the test, environment for the workers)."""
    env = dict(worker_database["env"])
    options = {"LEASE_SECONDS": 2, "POLL_SECONDS": 0}
    backend = DatabaseBackend("default", {"OPTIONS": {**options, "DATABASE": ALIAS}})
    QueuedTask.objects.using(ALIAS).all().delete()
    PeriodicRun.objects.using(ALIAS).all().delete()
    return backend, env


def enqueue(backend, task, *args):
    # Validate against the backend under test, not the test settings' ImmediateBackend.
    BaseTaskBackend.validate_task(backend, task)
    return backend.enqueue(task, list(args), {})


def start_worker(env, log: Path, *extra) -> subprocess.Popen:
    with open(log, "a") as handle:
        return subprocess.Popen(
            [sys.executable, "manage.py", "worker", *extra],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def wait_for(predicate, timeout: float, what: str):
    # Generous: the machine's load (CI beside other work on 2 cores) slows the workers' start;
    # a passing wait returns as soon as the predicate holds.
    deadline = time.monotonic() + max(timeout, 180)
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_work_survives_a_killed_worker(setup, tmp_path):
    backend, env = setup
    trace = tmp_path / "trace"
    # Enqueued while no worker runs: the work waits in the queue.
    slow = enqueue(backend, queue_tasks.slow, str(trace), "slow", 1.5)
    quick = [enqueue(backend, queue_tasks.record, str(trace), f"q{n}") for n in range(5)]
    first = start_worker(env, tmp_path / "worker1.log")
    try:
        wait_for(
            lambda: any(line.startswith("start slow") for line in lines(trace)), 60, "slow start"
        )
        first.send_signal(signal.SIGKILL)  # dies in the middle of the slow task
        first.wait(timeout=10)
    finally:
        stop(first)
    assert backend.get_result(slow.id).status == TaskResultStatus.RUNNING
    assert not any(line.startswith("done slow") for line in lines(trace))

    second = start_worker(env, tmp_path / "worker2.log")
    try:
        ids = [slow.id] + [result.id for result in quick]
        wait_for(
            lambda: all(backend.get_result(i).status == TaskResultStatus.SUCCESSFUL for i in ids),
            60,
            "all tasks done after the restart",
        )
    finally:
        stop(second)
    assert second.returncode == 0  # SIGTERM: finished cleanly
    trace_lines = lines(trace)
    assert sum(line.startswith("done slow") for line in trace_lines) == 1
    for n in range(5):  # each quick task exactly once
        assert sum(line.split()[0] == f"q{n}" for line in trace_lines) == 1
    again = backend.get_result(slow.id)
    assert again.attempts == 2  # the killed attempt and the one that finished
    assert again.worker_ids[0] != again.worker_ids[1]


def test_failing_task_is_retried_by_the_worker_then_fails(setup, tmp_path):
    backend, env = setup
    result = enqueue(backend, queue_tasks.flaky, str(tmp_path / "flaky"), 99)
    worker = start_worker({**env, "SHEQU_QUEUE_MAX_ATTEMPTS": "3"}, tmp_path / "worker.log")
    try:
        wait_for(
            lambda: backend.get_result(result.id).status == TaskResultStatus.FAILED,
            60,
            "three attempts with backoff",
        )
    finally:
        stop(worker)
    failed = backend.get_result(result.id)
    assert failed.attempts == 3
    assert len(failed.errors) == 3
    runs = [float(line.split()[1]) for line in lines(tmp_path / "flaky")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    assert len(gaps) == 2
    assert gaps[0] >= 0.8 - 0.05  # backoff 1 s ± 20 %
    assert gaps[1] >= 1.6 - 0.05  # then doubled


def test_periodic_job_runs_once_per_period_with_two_workers(setup, tmp_path):
    _backend, env = setup
    ticks = tmp_path / "ticks"
    env = {**env, "SHEQU_TEST_TICK_FILE": str(ticks)}
    workers = [
        start_worker(env, tmp_path / f"worker{n}.log", "--import", "tests.support.queue_tasks")
        for n in (1, 2)
    ]
    try:
        wait_for(lambda: len(lines(ticks)) >= 5, 60, "five ticks")
        time.sleep(1.2)
    finally:
        for worker in workers:
            stop(worker)
    manage(env, "worker", "--burst", "--no-periodic", timeout=60)
    runs = list(
        PeriodicRun.objects.using(ALIAS).filter(name="tests.tick").values_list("slot", "worker_id")
    )
    slots = [slot for slot, _worker in runs]
    assert len(slots) == len(set(slots))  # the database refuses a second run of a slot
    assert max(slots) - min(slots) + 1 >= len(slots)
    # Every claimed slot ran exactly once: as many ticks as runs (none twice, none lost).
    assert len(lines(ticks)) == len(runs)
    assert all(worker.returncode == 0 for worker in workers)
