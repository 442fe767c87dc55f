"""Accepting an Excel upload and queueing its import as a background task."""

from django.db import transaction
from django.utils.translation import gettext as _

from shequ.core.audit import audit_record
from shequ.core.errors import InvalidInput
from shequ.core.regions import Level, level_of
from shequ.core.scoping import require_perm
from shequ.people import permissions as P
from shequ.people.models import (
    ImportJob,
)
from shequ.people.services.common import (
    _user,
)

MAX_IMPORT_BYTES = 30 * 1024 * 1024


def import_job_create(
    *,
    actor,
    file_name: str,
    content: bytes,
    community_code: str,
    default_grid_code: str = "",
    dry_run: bool = False,
    request=None,
) -> ImportJob:
    """Accept an uploaded Excel file and queue its import (a background task).

    The file waits encrypted in the job row; the page polls the job for progress and report."""
    from shequ.people.tasks import run_import_job

    require_perm(actor, P.IMPORT, community_code)
    if level_of(community_code) != Level.COMMUNITY:
        raise InvalidInput(_("请选择社区。"), code="invalid_community")
    if default_grid_code and not default_grid_code.startswith(community_code):
        raise InvalidInput(_("默认网格不属于所选社区。"), code="invalid_grid")
    if not file_name.lower().endswith(".xlsx") or not content.startswith(b"PK"):
        raise InvalidInput(
            _("请上传 Excel 工作簿（.xlsx）；旧版 .xls 请先在 Excel 中另存为 .xlsx。"),
            code="invalid_file",
            details={"field": "file"},
        )
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidInput(_("文件过大（最大 30 MB），请拆分后分批导入。"), code="file_too_large")
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by=_user(actor),
            region_code=community_code,
            default_grid_code=default_grid_code,
            dry_run=dry_run,
            file_name=file_name[-200:],
            payload=content,
        )
        audit_record(
            actor=actor,
            action="people.import_upload",
            object_type="people.importjob",
            object_id=str(job.pk),
            object_repr=job.file_name,
            region_code=community_code,
            request=request,
            details={"bytes": len(content), "dry_run": dry_run},
        )

        def enqueue() -> None:
            result = run_import_job.enqueue(job.pk)
            ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])

        transaction.on_commit(enqueue)
    return job
