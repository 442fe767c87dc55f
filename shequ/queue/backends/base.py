"""What Shequ's queue backends share: retry policy, records, and the worker-facing interface.

A backend stores tasks enqueued through Django's Tasks API (`my_task.enqueue(...)`) and hands
them to `python manage.py worker`. Delivery is at least once: a task whose worker dies is run
again after its lease expires, so tasks must be idempotent (pass ids, re-read state, use
compare-and-set) — the same rule the services already follow.
"""

import random
from abc import abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.tasks import TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import TaskError
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class TaskRow:
    """A task as an operator sees it (the staff page and the admin)."""

    id: str
    task_path: str
    queue_name: str
    status: str
    attempts: int
    enqueued_at: datetime | None
    run_after: datetime | None
    finished_at: datetime | None
    last_error: str  # exception class only: tracebacks stay in the admin


@dataclass(frozen=True)
class Claimed:
    """A task leased to a worker; `attempt` counts from 1 in the current round of attempts;
    `token` identifies this lease (the worker passes it back when it reports)."""

    result: TaskResult
    attempt: int
    token: str


def new_task_id() -> str:
    return get_random_string(32)


def load_task(task_path: str, *, priority: int, queue_name: str):
    """The Task object behind a stored path (raises ImportError/ValueError if it is gone).

    `run_after` is not carried over: the stored row decides when the task runs."""
    task = import_string(task_path)
    if not hasattr(task, "func") or not hasattr(task, "enqueue"):
        raise ValueError(f"{task_path!r} is not a task")
    if (task.priority, task.queue_name) == (priority, queue_name):
        return task
    return replace(task, priority=priority, queue_name=queue_name)


class UnloadableTask:
    """Stands in for a task whose code no longer imports (shown to operators, never run)."""

    def __init__(self, path: str):
        self.module_path = path
        self.name = path.rsplit(".", 1)[-1]
        self.func = None
        self.takes_context = False


class QueueBackend(BaseTaskBackend):
    """Common options (TASKS[alias]["OPTIONS"]):

    MAX_ATTEMPTS (5)       attempts before a task is FAILED for good
    BACKOFF_BASE (5)       seconds before the first retry; doubles each attempt (±20 % jitter)
    BACKOFF_MAX (3600)     upper bound of one retry delay, seconds
    LEASE_SECONDS (300)    a RUNNING task whose worker stops renewing its lease for this long
                           is handed to another worker
    POLL_SECONDS (1)       how often an idle worker looks for work
    """

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias, params):
        super().__init__(alias, params)
        options = self.options
        self.max_attempts = int(options.get("MAX_ATTEMPTS", 5))
        self.backoff_base = float(options.get("BACKOFF_BASE", 5))
        self.backoff_max = float(options.get("BACKOFF_MAX", 3600))
        self.lease = timedelta(seconds=float(options.get("LEASE_SECONDS", 300)))
        self.poll_seconds = float(options.get("POLL_SECONDS", 1))
        if self.max_attempts < 1:
            raise ValueError("MAX_ATTEMPTS must be at least 1")

    # Retry policy -------------------------------------------------------------------------

    def backoff(self, attempt: int) -> timedelta:
        """Delay before retry number `attempt` (1 = after the first failure)."""
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(attempt - 1, 0))
        return timedelta(seconds=delay * random.uniform(0.8, 1.2))

    def retry_at(self, attempts: int) -> datetime | None:
        """When to try again after `attempts` failed attempts, or None when out of attempts."""
        if attempts >= self.max_attempts:
            return None
        return timezone.now() + self.backoff(attempts)

    # Building results ---------------------------------------------------------------------

    def make_result(self, *, task, record: dict) -> TaskResult:
        result: TaskResult[Any, Any] = TaskResult(
            task=task,
            id=record["id"],
            status=TaskResultStatus(record["status"]),
            enqueued_at=record.get("enqueued_at"),
            started_at=record.get("started_at"),
            finished_at=record.get("finished_at"),
            last_attempted_at=record.get("last_attempted_at"),
            args=record.get("args") or [],
            kwargs=record.get("kwargs") or {},
            backend=self.alias,
            errors=[TaskError(**error) for error in record.get("errors") or []],
            worker_ids=list(record.get("worker_ids") or []),
        )
        object.__setattr__(result, "_return_value", record.get("return_value"))
        return result

    def result_from_record(self, record: dict) -> TaskResult:
        try:
            task = load_task(
                record["task_path"],
                priority=record.get("priority", 0),
                queue_name=record.get("queue_name", "default"),
            )
        except (ImportError, ValueError):
            task = UnloadableTask(record["task_path"])
        return self.make_result(task=task, record=record)

    def new_record(self, task, args, kwargs) -> dict:
        probe: TaskResult[Any, Any] = (
            TaskResult(  # normalises args/kwargs to JSON exactly as Django does
                task=task,
                id="",
                status=TaskResultStatus.READY,
                enqueued_at=None,
                started_at=None,
                finished_at=None,
                last_attempted_at=None,
                args=args,
                kwargs=kwargs,
                backend=self.alias,
                errors=[],
                worker_ids=[],
            )
        )
        return {
            "id": new_task_id(),
            "task_path": task.module_path,
            "queue_name": task.queue_name,
            "priority": task.priority,
            "args": probe.args,
            "kwargs": probe.kwargs,
            "status": TaskResultStatus.READY,
            "run_after": task.run_after,
            "enqueued_at": timezone.now(),
            "started_at": None,
            "finished_at": None,
            "last_attempted_at": None,
            "worker_ids": [],
            "errors": [],
            "return_value": None,
            "retry_base": 0,
        }

    # The worker-facing interface ------------------------------------------------------------

    @abstractmethod
    def claim(self, *, worker_id: str, queues: list[str]) -> Claimed | None:
        """Take the next due task (highest priority, oldest first) and lease it to `worker_id`."""

    @abstractmethod
    def extend_lease(self, *, result_id: str, token: str) -> bool:
        """Keep a running task leased; False when the lease was lost to another worker."""

    @abstractmethod
    def mark_successful(self, *, result_id: str, token: str, return_value) -> bool: ...

    @abstractmethod
    def mark_failed(
        self, *, result_id: str, token: str, error: TaskError, retry_at: datetime | None
    ) -> bool:
        """Record a failed attempt: READY again at `retry_at`, or FAILED for good when None."""

    @abstractmethod
    def recover_expired(self) -> int:
        """Put RUNNING tasks whose lease expired (their worker died) back to READY."""

    @abstractmethod
    def counts(self) -> dict[tuple[str, str], int]:
        """{(queue, status): count} — READY is the queue depth."""

    @abstractmethod
    def rows(self, *, status: str, limit: int = 50) -> list[TaskRow]: ...

    @abstractmethod
    def retry(self, *, result_id: str) -> bool:
        """An operator asks to run a FAILED task again (a fresh round of attempts)."""

    @abstractmethod
    def purge(self, *, finished_before: datetime, failed_before: datetime) -> int:
        """Delete finished tasks (successful before one cutoff, failed before another)."""
