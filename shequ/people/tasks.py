"""Background work of the registry, written against Django's Tasks API only (the backend —
immediate today, a persistent queue with workers later — is a setting)."""

from django.tasks import task

from shequ.people.importing import purge_expired_previews, run_job


@task
def run_import_job(job_id: int) -> None:
    """Validate and (if clean) write one uploaded Excel file; progress goes to the job row."""
    run_job(job_id)


@task
def purge_import_previews() -> None:
    """Hourly: discard the kept files of import previews nobody confirmed in time."""
    purge_expired_previews()
