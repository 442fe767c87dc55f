"""Background tasks of the closed loop (Django's Tasks API; the project's queue runs them)."""

from django.tasks import task

from shequ.cases.evidence import drafts_purge
from shequ.cases.services.feedback import cases_remind_unrated


@task
def rating_reminder_task() -> int:
    """提醒评价 three days after closure (registered as "cases.rating_reminder", hourly)."""
    return cases_remind_unrated()


@task
def purge_draft_photos_task() -> int:
    """Hourly: remove the kept photos of 随手拍 forms never resubmitted ("cases.purge_drafts")."""
    return drafts_purge()
