"""The persistent task queue, in process: both backends honour one contract (enqueue, claim in
priority order, defer, retry with backoff, FAILED after the last attempt, lease recovery,
operator retry, purge), periodic slots run once, and operators can see failures.

Worker processes (restart, SIGKILL, two workers) are in test_queue_workers.py.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus, task_backends
from django.tasks.exceptions import TaskResultDoesNotExist
from django.test import override_settings
from django.utils import timezone

from shequ.core import schedule
from shequ.queue.backends.database import DatabaseBackend
from shequ.queue.models import PeriodicRun, QueuedTask
from shequ.queue.periodic import PeriodicScheduler, claim_slot, slot_of
from shequ.queue.worker import Worker
from tests.support import queue_tasks

OPTIONS = {"MAX_ATTEMPTS": 3, "BACKOFF_BASE": 10, "BACKOFF_MAX": 60, "LEASE_SECONDS": 30}


@pytest.fixture
def backend(db, time_machine):
    """The database queue, configured as the default (so tasks validate against it), with the
    clock frozen (tests move it)."""
    time_machine.move_to(timezone.now(), tick=False)
    config = {"BACKEND": "shequ.queue.backends.database.DatabaseBackend", "OPTIONS": OPTIONS}
    with override_settings(TASKS={"default": config}):
        yield task_backends["default"]


def run_one(backend, worker_id="w1"):
    claimed = backend.claim(worker_id=worker_id, queues=["default"])
    if claimed is not None:
        Worker(backend=backend, worker_id=worker_id, periodic=False).execute(claimed)
    return claimed


def test_enqueue_then_run(backend, tmp_path):
    log = tmp_path / "log"
    result = backend.enqueue(queue_tasks.record, [str(log), "hello"], {})
    assert backend.get_result(result.id).status == TaskResultStatus.READY
    assert run_one(backend) is not None
    done = backend.get_result(result.id)
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.return_value == "hello"
    assert done.attempts == 1
    assert log.read_text().startswith("hello ")
    assert run_one(backend) is None  # nothing left


def test_unknown_result_id(backend):
    with pytest.raises(TaskResultDoesNotExist):
        backend.get_result("nope")


def test_priority_then_fifo(backend, tmp_path, time_machine):
    log = str(tmp_path / "log")
    backend.enqueue(queue_tasks.record, [log, "low-1"], {})
    time_machine.shift(timedelta(milliseconds=5))  # FIFO is to the millisecond
    backend.enqueue(queue_tasks.record.using(priority=10), [log, "high"], {})
    time_machine.shift(timedelta(milliseconds=5))
    backend.enqueue(queue_tasks.record, [log, "low-2"], {})
    order = []
    while (claimed := backend.claim(worker_id="w", queues=["default"])) is not None:
        order.append(claimed.result.args[1])
        backend.mark_successful(result_id=claimed.result.id, token=claimed.token, return_value=None)
    assert order == ["high", "low-1", "low-2"]


def test_deferred_task_waits(backend, tmp_path, time_machine):
    later = timezone.now() + timedelta(minutes=5)
    backend.enqueue(queue_tasks.record.using(run_after=later), [str(tmp_path / "l"), "x"], {})
    assert backend.claim(worker_id="w", queues=["default"]) is None
    time_machine.move_to(later + timedelta(seconds=1))
    assert backend.claim(worker_id="w", queues=["default"]) is not None


def test_retry_with_backoff_then_success(backend, tmp_path, time_machine):
    path = str(tmp_path / "flaky")
    result = backend.enqueue(queue_tasks.flaky, [path, 2], {})
    run_one(backend)
    first = backend.get_result(result.id)
    assert first.status == TaskResultStatus.READY  # waiting for its retry
    assert [e.exception_class_path for e in first.errors] == ["builtins.RuntimeError"]
    assert run_one(backend) is None  # backoff: not due yet (10 s ± 20 %)
    time_machine.shift(timedelta(seconds=13))
    run_one(backend)
    assert backend.get_result(result.id).status == TaskResultStatus.READY
    time_machine.shift(timedelta(seconds=15))
    assert run_one(backend) is None  # second backoff is twice as long (20 s ± 20 %)
    time_machine.shift(timedelta(seconds=10))
    run_one(backend)
    final = backend.get_result(result.id)
    assert final.status == TaskResultStatus.SUCCESSFUL
    assert final.return_value == 3
    assert final.attempts == 3
    assert len(final.errors) == 2


def test_failed_for_good_after_max_attempts_and_operator_retry(backend, tmp_path, time_machine):
    path = str(tmp_path / "flaky")
    result = backend.enqueue(queue_tasks.flaky, [path, 10], {})
    for _ in range(3):
        run_one(backend)
        time_machine.shift(timedelta(minutes=5))
    failed = backend.get_result(result.id)
    assert failed.status == TaskResultStatus.FAILED
    assert failed.attempts == 3
    assert "planned failure 3" in failed.errors[-1].traceback
    rows = backend.rows(status=TaskResultStatus.FAILED)
    assert [row.id for row in rows] == [result.id]
    assert rows[0].last_error == "builtins.RuntimeError"
    assert backend.counts()[("default", TaskResultStatus.FAILED)] == 1
    # An operator retries: a fresh round of attempts.
    assert backend.retry(result_id=result.id)
    assert not backend.retry(result_id=result.id)  # no longer failed
    run_one(backend)
    assert backend.get_result(result.id).status == TaskResultStatus.READY  # attempt 1 of 3 again


def test_expired_lease_is_recovered(backend, tmp_path, time_machine):
    result = backend.enqueue(queue_tasks.record, [str(tmp_path / "l"), "x"], {})
    lost = backend.claim(worker_id="dead", queues=["default"])
    assert backend.recover_expired() == 0  # lease still valid
    time_machine.shift(timedelta(seconds=31))
    assert backend.recover_expired() == 1
    run_one(backend, worker_id="alive")
    done = backend.get_result(result.id)
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.worker_ids == ["dead", "alive"]
    # The dead worker's late report is refused: its lease is gone.
    assert not backend.mark_successful(result_id=result.id, token=lost.token, return_value=None)


def test_lease_renewal_keeps_a_long_task(backend, tmp_path, time_machine):
    backend.enqueue(queue_tasks.record, [str(tmp_path / "l"), "x"], {})
    claimed = backend.claim(worker_id="w", queues=["default"])
    time_machine.shift(timedelta(seconds=20))
    assert backend.extend_lease(result_id=claimed.result.id, token=claimed.token)
    time_machine.shift(timedelta(seconds=20))
    assert backend.recover_expired() == 0
    assert not backend.extend_lease(result_id=claimed.result.id, token="someone-else#1")


def test_purge_finished(backend, tmp_path, time_machine):
    done = backend.enqueue(queue_tasks.record, [str(tmp_path / "l"), "x"], {})
    run_one(backend)
    waiting = backend.enqueue(queue_tasks.record, [str(tmp_path / "l"), "y"], {})
    time_machine.shift(timedelta(days=8))
    now = timezone.now()
    assert backend.purge(finished_before=now - timedelta(days=7), failed_before=now) == 1
    with pytest.raises(TaskResultDoesNotExist):
        backend.get_result(done.id)
    assert backend.get_result(waiting.id).status == TaskResultStatus.READY


def test_worker_loop_in_burst_mode(backend, tmp_path):
    log = tmp_path / "log"
    for label in "abc":
        backend.enqueue(queue_tasks.record, [str(log), label], {})
    processed = Worker(backend=backend, periodic=False, burst=True).run()
    assert processed == 3
    assert sorted(line.split()[0] for line in log.read_text().splitlines()) == ["a", "b", "c"]


def test_task_that_cannot_be_imported_fails_for_good(db):
    backend = DatabaseBackend("default", {"OPTIONS": OPTIONS})
    QueuedTask.objects.create(id="gone", task_path="shequ.nowhere.task", args=[], kwargs={})
    run_one(backend)
    row = QueuedTask.objects.get(pk="gone")
    assert row.status == TaskResultStatus.FAILED
    assert row.errors[-1]["exception_class_path"] == "builtins.ImportError"


def test_database_enqueue_is_part_of_the_transaction(db, tmp_path):
    backend = DatabaseBackend("default", {"OPTIONS": OPTIONS})
    with pytest.raises(RuntimeError), transaction.atomic():
        backend.enqueue(queue_tasks.record, [str(tmp_path / "l"), "x"], {})
        raise RuntimeError("the request failed")
    assert QueuedTask.objects.count() == 0


# Periodic jobs -------------------------------------------------------------------------------


@pytest.fixture
def tick_job():
    job = schedule.register("tests.tick", queue_tasks.tick, every=timedelta(minutes=1))
    yield job
    schedule.unregister("tests.tick")


def test_slot_claimed_once(db, tick_job):
    slot = slot_of(tick_job, timezone.now())
    assert claim_slot(tick_job, slot, worker_id="a")
    assert not claim_slot(tick_job, slot, worker_id="b")
    assert claim_slot(tick_job, slot + 1, worker_id="b")


@override_settings(TASKS={"default": {"BACKEND": "shequ.queue.backends.database.DatabaseBackend"}})
def test_two_schedulers_enqueue_each_period_once(db, tick_job, time_machine):
    time_machine.move_to(timezone.now().replace(second=5), tick=False)
    first, second = PeriodicScheduler(worker_id="a"), PeriodicScheduler(worker_id="b")
    assert "tests.tick" in first.tick()
    assert "tests.tick" not in second.tick()
    time_machine.shift(timedelta(seconds=30))  # same minute
    assert "tests.tick" not in first.tick() + second.tick()
    time_machine.shift(timedelta(seconds=30))  # next minute
    assert "tests.tick" in second.tick() + first.tick()
    runs = PeriodicRun.objects.filter(name="tests.tick")
    assert runs.count() == 2
    assert QueuedTask.objects.filter(task_path="tests.support.queue_tasks.tick").count() == 2
    assert set(runs.values_list("task_id", flat=True)) == set(
        QueuedTask.objects.values_list("id", flat=True).filter(
            task_path="tests.support.queue_tasks.tick"
        )
    )


def test_nightly_offset_runs_at_local_time():
    job = schedule.PeriodicJob(
        name="n", task=None, every=timedelta(days=1), offset=timedelta(hours=2)
    )
    tz = timezone.get_current_timezone()
    before = timezone.datetime(2026, 3, 1, 1, 59, tzinfo=tz)
    after = timezone.datetime(2026, 3, 1, 2, 0, tzinfo=tz)
    assert slot_of(job, after) == slot_of(job, before) + 1


def test_schedule_rejects_bad_periods():
    with pytest.raises(ValueError):
        schedule.register("x", None, every=timedelta(milliseconds=10))
    with pytest.raises(ValueError):
        schedule.register("x", None, every=timedelta(hours=1), offset=timedelta(hours=2))


def test_run_periodic_command_runs_due_jobs_once(db, tick_job, tmp_path, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("SHEQU_TEST_TICK_FILE", str(tmp_path / "ticks"))
    call_command("run_periodic", "--once")
    call_command("run_periodic", "--once")  # same minute: not due again
    assert len((tmp_path / "ticks").read_text().splitlines()) == 1


def test_housekeeping_jobs_are_registered():
    names = {job.name for job in schedule.jobs()}
    assert {"core.purge_idempotency", "queue.purge"} <= names


# Operators -----------------------------------------------------------------------------------

DB_TASKS = {
    "default": {
        "BACKEND": "shequ.queue.backends.database.DatabaseBackend",
        "OPTIONS": {"MAX_ATTEMPTS": 1},
    }
}


@override_settings(TASKS=DB_TASKS)
def test_failed_tasks_on_the_operators_page(client_as, tmp_path):
    from django.tasks import task_backends

    backend = task_backends["default"]
    result = backend.enqueue(queue_tasks.flaky, [str(tmp_path / "f"), 5], {})
    run_one(backend)
    page = client_as("city").get("/ops/tasks/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "tests.support.queue_tasks.flaky" in text
    assert "builtins.RuntimeError" in text
    assert "Traceback" not in text  # tracebacks stay in the admin
    retried = client_as("city").post(f"/ops/tasks/{result.id}/retry/")
    assert retried.status_code == 302
    assert backend.get_result(result.id).status == TaskResultStatus.READY
    from shequ.core.models import AuditEvent

    assert AuditEvent.objects.filter(action="queue.task_retry", object_id=result.id).exists()


@override_settings(TASKS=DB_TASKS)
def test_operators_page_is_not_for_everyone(client_as):
    assert client_as("grid").get("/ops/tasks/").status_code == 404
    assert client_as("community").post("/ops/tasks/x/retry/").status_code == 404
    assert client_as("admin").get("/ops/tasks/").status_code == 200


@override_settings(TASKS=DB_TASKS)
def test_admin_shows_the_traceback(client_as, tmp_path):
    from django.tasks import task_backends

    backend = task_backends["default"]
    result = backend.enqueue(queue_tasks.flaky, [str(tmp_path / "f"), 5], {})
    run_one(backend)
    page = client_as("admin").get(f"/admin/queue/queuedtask/{result.id}/change/")
    assert page.status_code == 200
    assert "planned failure 1" in page.content.decode()


def test_worker_command_refuses_the_immediate_backend(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="持久队列"):
        call_command("worker", "--burst")
