"""The worker loop behind `python manage.py worker`.

One task at a time per process (run several processes, or several machines, for more). Each
loop: enqueue due periodic jobs, hand expired leases back, claim the next task, run it, record
the outcome. A failed attempt is retried with exponential backoff until the backend's
MAX_ATTEMPTS; then the task is FAILED and shows on the operators' page. SIGTERM/SIGINT finish
the current task and stop; a second signal stops at once (the lease brings the task back).
"""

import logging
import os
import signal
import socket
import threading
import time
from traceback import format_exception

from django.db import DatabaseError, close_old_connections, connections
from django.tasks import TaskContext, TaskResultStatus
from django.tasks.base import TaskError
from django.tasks.signals import task_finished, task_started
from django.utils.crypto import get_random_string
from django.utils.json import normalize_json

from shequ.queue.backends.base import Claimed, QueueBackend, UnloadableTask
from shequ.queue.periodic import PeriodicScheduler

logger = logging.getLogger("shequ.queue")

TRANSIENT = (DatabaseError, OSError)


def _tidy_connections(*, close_all: bool = False) -> None:
    """Like a request's end: drop stale or broken database connections (kept in
    CONN_MAX_AGE otherwise). Never inside a transaction (a test's, or a caller's)."""
    if any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
        return
    if close_all:
        connections.close_all()
    else:
        close_old_connections()


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{get_random_string(6)}"[:60]


class WorkerLost(Exception):
    """The task's worker stopped (killed, crashed) too many times while running it."""


class Heartbeat(threading.Thread):
    """Renews a running task's lease so that a long task is not handed to another worker."""

    def __init__(self, backend: QueueBackend, claimed: Claimed):
        super().__init__(daemon=True, name="queue-heartbeat")
        self.backend, self.claimed = backend, claimed
        self.stopped = threading.Event()

    def run(self):
        interval = max(self.backend.lease.total_seconds() / 3, 0.5)
        try:
            while not self.stopped.wait(interval):
                try:
                    self.backend.extend_lease(
                        result_id=self.claimed.result.id, token=self.claimed.token
                    )
                except TRANSIENT:
                    logger.warning("could not renew the lease of %s", self.claimed.result.id)
        finally:
            connections.close_all()

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)


def _error_of(exc: BaseException) -> TaskError:
    kind = type(exc)
    return TaskError(
        exception_class_path=f"{kind.__module__}.{kind.__qualname__}",
        traceback="".join(format_exception(exc)),
    )


class Worker:
    def __init__(
        self,
        *,
        backend: QueueBackend,
        queues: list[str] | None = None,
        worker_id: str | None = None,
        periodic: bool = True,
        burst: bool = False,
        max_tasks: int | None = None,
    ):
        self.backend = backend
        self.queues = sorted(queues or backend.queues or ["default"])
        self.worker_id = worker_id or default_worker_id()
        self.scheduler = PeriodicScheduler(worker_id=self.worker_id) if periodic else None
        self.burst = burst
        self.max_tasks = max_tasks
        self.stopping = threading.Event()
        self.processed = 0

    # Signals ------------------------------------------------------------------------------

    def _on_signal(self, signum, frame):
        if self.stopping.is_set():
            raise KeyboardInterrupt
        logger.info("worker %s stopping after the current task", self.worker_id)
        self.stopping.set()

    def install_signal_handlers(self):
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    # The loop -----------------------------------------------------------------------------

    def run(self) -> int:
        logger.info("worker %s started on queues %s", self.worker_id, ",".join(self.queues))
        next_periodic = next_recover = 0.0
        recover_every = min(30.0, max(self.backend.lease.total_seconds() / 3, 0.5))
        failures = 0
        while not self.stopping.is_set():
            try:
                now = time.monotonic()
                if self.scheduler and now >= next_periodic:
                    self.scheduler.tick()
                    next_periodic = now + 1
                if now >= next_recover:
                    if recovered := self.backend.recover_expired():
                        logger.warning("%s task(s) whose worker stopped are ready again", recovered)
                    next_recover = now + recover_every
                claimed = self.backend.claim(worker_id=self.worker_id, queues=self.queues)
                failures = 0
            except TRANSIENT:
                failures += 1
                logger.exception("queue unavailable (attempt %s); retrying", failures)
                _tidy_connections()
                self.stopping.wait(min(30, 2**failures))
                continue
            if claimed is not None:
                self.execute(claimed)
                self.processed += 1
                if self.max_tasks and self.processed >= self.max_tasks:
                    break
                continue
            if self.burst:
                break
            _tidy_connections()
            self.stopping.wait(self.backend.poll_seconds)
        _tidy_connections(close_all=True)
        logger.info("worker %s stopped after %s task(s)", self.worker_id, self.processed)
        return self.processed

    def execute(self, claimed: Claimed) -> None:
        result, backend = claimed.result, self.backend
        task = result.task
        _tidy_connections()
        if isinstance(task, UnloadableTask) or claimed.attempt > backend.max_attempts:
            reason = (
                ImportError(f"task {task.module_path} cannot be imported")
                if isinstance(task, UnloadableTask)
                else WorkerLost(f"worker stopped during {claimed.attempt - 1} attempt(s)")
            )
            backend.mark_failed(
                result_id=result.id, token=claimed.token, error=_error_of(reason), retry_at=None
            )
            logger.error("task %s %s failed for good: %s", result.id, task.module_path, reason)
            return
        heartbeat = Heartbeat(backend, claimed)
        heartbeat.start()
        task_started.send(sender=type(backend), task_result=result)
        try:
            if task.takes_context:
                value = task.call(TaskContext(task_result=result), *result.args, **result.kwargs)
            else:
                value = task.call(*result.args, **result.kwargs)
            value = normalize_json(value)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            heartbeat.stop()
            error = _error_of(exc)
            retry_at = backend.retry_at(claimed.attempt)
            self._report(
                backend.mark_failed,
                result_id=result.id,
                token=claimed.token,
                error=error,
                retry_at=retry_at,
            )
            if retry_at is None:
                object.__setattr__(result, "status", TaskResultStatus.FAILED)
                result.errors.append(error)
                task_finished.send(sender=type(backend), task_result=result)
            else:
                logger.warning(
                    "task %s %s attempt %s failed (%s); retry at %s",
                    result.id,
                    task.module_path,
                    claimed.attempt,
                    error.exception_class_path,
                    retry_at.isoformat(),
                )
        else:
            heartbeat.stop()
            self._report(
                backend.mark_successful,
                result_id=result.id,
                token=claimed.token,
                return_value=value,
            )
            object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
            object.__setattr__(result, "_return_value", value)
            task_finished.send(sender=type(backend), task_result=result)
        finally:
            heartbeat.stop()

    def _report(self, method, **kwargs) -> None:
        """Record an outcome, retrying while the queue is briefly unavailable."""
        for attempt in range(5):
            try:
                if not method(**kwargs):
                    logger.warning(
                        "lease of task %s was lost before it finished", kwargs["result_id"]
                    )
                return
            except TRANSIENT:
                logger.exception("could not record the outcome of %s", kwargs["result_id"])
                _tidy_connections()
                time.sleep(2**attempt)
