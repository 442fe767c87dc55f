"""Periodic jobs: apps register them here; the worker enqueues each one once per period.

    from shequ.core import schedule
    schedule.register("core.deadlines_sweep", deadlines_sweep_task, every=timedelta(minutes=1))

`deadlines_sweep_task` is a Django task (`@task` from django.tasks). The worker of the task queue
decides when a job is due and makes sure it runs once per period even with several workers on
several machines; `python manage.py run_periodic --once` runs every due job in-process (handy
in the demo and in tests).

Periods are counted in local time (TIME_ZONE) from 1970-01-01 00:00 plus `offset`, so
`every=timedelta(days=1), offset=timedelta(hours=2)` runs nightly at 02:00 Beijing time. A
period nobody was running for is skipped, not caught up (the next one runs as usual).
"""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: object  # a django.tasks Task
    every: timedelta
    offset: timedelta = timedelta(0)


_jobs: dict[str, PeriodicJob] = {}


def register(name: str, task, *, every: timedelta, offset=timedelta(0)) -> PeriodicJob:
    if every < timedelta(seconds=1):
        raise ValueError("a periodic job runs at most once a second")
    if not timedelta(0) <= offset < every:
        raise ValueError("offset must be within one period")
    job = PeriodicJob(name=name, task=task, every=every, offset=offset)
    _jobs[name] = job
    return job


def jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda job: job.name)


def unregister(name: str) -> None:
    """Remove a job (tests)."""
    _jobs.pop(name, None)
