"""Periodic jobs of the points platform (registered with core.schedule in apps.py)."""

from django.tasks import task

from shequ.points import clock
from shequ.points.services import points_expire


@task
def expire_points_job() -> dict:
    """Daily: run this year's expiry (idempotent per account, so a daily run is harmless)."""

    return points_expire(year=clock.today().year)
