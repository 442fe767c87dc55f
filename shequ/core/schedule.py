"""Periodic jobs: apps register them here; the worker enqueues each one once per period.

    from shequ.core import schedule
    schedule.register("cases.sla_sweep", sla_sweep_task, every=timedelta(minutes=1))

`sla_sweep_task` is a Django task (`@task` from django.tasks). The worker of the task queue
decides when a job is due and makes sure it runs once per period even with several workers on
several machines; `python manage.py run_periodic --once` runs every due job in-process (handy
in the demo and in tests).
"""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: object  # a django.tasks Task
    every: timedelta


_jobs: dict[str, PeriodicJob] = {}


def register(name: str, task, *, every: timedelta) -> PeriodicJob:
    if every < timedelta(seconds=1):
        raise ValueError("a periodic job runs at most once a second")
    job = PeriodicJob(name=name, task=task, every=every)
    _jobs[name] = job
    return job


def jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda job: job.name)
