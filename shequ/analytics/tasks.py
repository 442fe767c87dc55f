"""Background tasks of the cockpit (Django's Tasks API; the project's queue runs them)."""

from django.tasks import task


@task
def warnings_task() -> dict:
    """Run the early-warning rules (registered with core.schedule as "analytics.warnings")."""
    from shequ.analytics.services import warnings_refresh

    return warnings_refresh()
