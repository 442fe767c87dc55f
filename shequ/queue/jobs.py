"""Housekeeping jobs of the platform itself, registered with `shequ.core.schedule`."""

from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from shequ.core import schedule
from shequ.core.idempotency import purge_expired
from shequ.queue.models import PeriodicRun
from shequ.queue.selectors import queue_backend


@task
def purge_idempotency_records() -> int:
    """Forget Idempotency-Key records older than SHEQU_IDEMPOTENCY_HOURS."""
    return purge_expired()


@task
def purge_queue() -> int:
    """Delete finished tasks (successful after 7 days, failed after 30) and old periodic runs."""
    now = timezone.now()
    deleted = PeriodicRun.objects.filter(claimed_at__lt=now - timedelta(days=7)).delete()[0]
    backend = queue_backend()
    if backend is not None:
        deleted += backend.purge(
            finished_before=now - timedelta(days=settings.SHEQU_QUEUE_KEEP_DAYS),
            failed_before=now - timedelta(days=settings.SHEQU_QUEUE_KEEP_FAILED_DAYS),
        )
    return deleted


def register_housekeeping() -> None:
    schedule.register("core.purge_idempotency", purge_idempotency_records, every=timedelta(hours=1))
    schedule.register(
        "queue.purge", purge_queue, every=timedelta(days=1), offset=timedelta(hours=3)
    )
