"""Reads for operators: queue depth per status, tasks by status."""

from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

from shequ.queue.backends.base import QueueBackend, TaskRow


def queue_backend(alias: str = DEFAULT_TASK_BACKEND_ALIAS) -> QueueBackend | None:
    """The persistent queue behind `alias`, or None (e.g. the ImmediateBackend in tests)."""
    backend = task_backends[alias]
    return backend if isinstance(backend, QueueBackend) else None


def queue_counts() -> dict[tuple[str, str], int]:
    backend = queue_backend()
    return backend.counts() if backend else {}


def queue_gauge() -> list[tuple[tuple[str, str], float]]:
    """Samples for /metrics: ((queue, status), count); READY is the queue depth."""
    return sorted(queue_counts().items())


def task_rows(status: str, limit: int = 50) -> list[TaskRow]:
    backend = queue_backend()
    return backend.rows(status=status, limit=limit) if backend else []
