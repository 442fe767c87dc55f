"""Background tasks of the closed loop (Django's Tasks API; the project's queue runs them)."""

from django.tasks import task


@task
def sla_sweep_task() -> dict:
    """The minute-by-minute SLA sweep (registered with core.schedule as "cases.sla_sweep")."""
    from shequ.cases.sla import sla_sweep

    return sla_sweep().as_dict()
