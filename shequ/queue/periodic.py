"""Periodic jobs (registered in `shequ.core.schedule`) enqueued once per period.

The lock is a row: `PeriodicRun(name, slot)` is unique, so however many workers on however many
machines try to start the 10:05 run of the SLA sweep, exactly one INSERT succeeds and that
worker enqueues the task — in the same transaction with the database queue, so a crash cannot
record a run without its task.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from shequ.core import schedule
from shequ.queue.models import PeriodicRun

logger = logging.getLogger("shequ.queue")
EPOCH = datetime(1970, 1, 1)


def slot_of(job: schedule.PeriodicJob, now: datetime) -> int:
    """Number of the period containing `now`, counted in local time from the epoch."""
    local = timezone.localtime(now).replace(tzinfo=None)
    elapsed = (local - EPOCH - job.offset).total_seconds()
    return int(elapsed // job.every.total_seconds())


def claim_slot(job, slot: int, *, worker_id: str = "", using: str = "default") -> bool:
    """Record the run of `job` for `slot`; False when someone else already did."""
    try:
        with transaction.atomic(using=using):
            PeriodicRun.objects.using(using).create(name=job.name, slot=slot, worker_id=worker_id)
    except IntegrityError:
        return False
    return True


class PeriodicScheduler:
    """Enqueues due jobs. Remembers the last slot it saw per job, so each worker touches the
    database once per job per period, not once per tick."""

    def __init__(self, *, worker_id: str = "", using: str = "default"):
        self.worker_id = worker_id
        self.using = using
        self.seen: dict[str, int] = {}

    def tick(self, now: datetime | None = None) -> list[str]:
        now = now or timezone.now()
        started = []
        for job in schedule.jobs():
            slot = slot_of(job, now)
            if self.seen.get(job.name) == slot:
                continue
            try:
                with transaction.atomic(using=self.using):
                    run = PeriodicRun.objects.using(self.using).create(
                        name=job.name, slot=slot, worker_id=self.worker_id
                    )
                    result = job.task.enqueue()
                    run.task_id = result.id
                    run.save(update_fields=["task_id"])
            except IntegrityError:
                pass  # another worker has it
            else:
                started.append(job.name)
                logger.info("periodic job %s slot %s enqueued as %s", job.name, slot, result.id)
            self.seen[job.name] = slot
        return started


def run_due_now(*, force: bool = False, now: datetime | None = None) -> list[str]:
    """Run due jobs in this process (the `run_periodic --once` command); `force` runs them all."""
    now = now or timezone.now()
    ran = []
    for job in schedule.jobs():
        if force or claim_slot(job, slot_of(job, now), worker_id="run_periodic"):
            job.task.call()
            ran.append(job.name)
    return ran
