"""Background tasks of the cockpit (Django's Tasks API; the project's queue runs them)."""

from django.tasks import task

from shequ.analytics.services import warnings_refresh


@task
def warnings_task() -> dict:
    """Run the early-warning rules (registered with core.schedule as "analytics.warnings")."""
    return warnings_refresh()
