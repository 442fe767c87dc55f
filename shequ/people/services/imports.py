"""Accepting an Excel upload and queueing its import (or its preview) as a background task;
confirming a preview."""

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.accounts.models import User
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.regions import Level, level_of
from shequ.core.scoping import require_perm
from shequ.people import permissions as P
from shequ.people.importing import check_size
from shequ.people.models import ImportJob
from shequ.people.services.common import _user
from shequ.people.tasks import run_import_job


def import_job_create(
    *,
    actor: User,
    file_name: str,
    content: bytes,
    community_code: str,
    default_grid_code: str = "",
    dry_run: bool = False,
    create_missing: bool = False,
    request: HttpRequest | None = None,
) -> ImportJob:
    """Accept an uploaded Excel file and queue its import (a background task).

    `dry_run` makes a preview: the job reports exactly what the import would do and keeps the
    (encrypted) file so that `import_job_confirm` can import it. `create_missing` lets the import
    create estates, buildings and houses the system lacks (listed in the report). The size cap
    is the platform's upload cap (`importing.max_import_bytes`): a larger file is refused with
    413."""
    require_perm(actor, P.IMPORT, community_code)
    if level_of(community_code) != Level.COMMUNITY:
        raise InvalidInput(_("请选择社区。"), code="invalid_community")
    if default_grid_code and not default_grid_code.startswith(community_code):
        raise InvalidInput(_("默认网格不属于所选社区。"), code="invalid_grid")
    check_size(len(content))
    if not file_name.lower().endswith(".xlsx") or not content.startswith(b"PK"):
        raise InvalidInput(
            _("请上传 Excel 工作簿（.xlsx）；旧版 .xls 请先在 Excel 中另存为 .xlsx。"),
            code="invalid_file",
            details={"field": "file"},
        )
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by=_user(actor),
            region_code=community_code,
            default_grid_code=default_grid_code,
            dry_run=dry_run,
            create_missing=create_missing,
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
            details={"bytes": len(content), "dry_run": dry_run, "create_missing": create_missing},
        )
        _enqueue(job)
    return job


def import_job_confirm(
    *, actor: User, preview: ImportJob, request: HttpRequest | None = None
) -> ImportJob:
    """Import the file of a successful preview for real: a new job with the same file and
    options (it validates again — the registry may have changed since). The preview gives up
    its file; confirming twice is a conflict."""
    require_perm(actor, P.IMPORT, preview.region_code)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=preview.pk)
        if not locked.can_confirm:
            raise ConflictError(
                _("该预览已确认导入，或已过期（预览文件保留 24 小时）。请重新上传文件。"),
                code="preview_not_confirmable",
            )
        job = ImportJob.objects.create(
            created_by=_user(actor),
            region_code=locked.region_code,
            default_grid_code=locked.default_grid_code,
            dry_run=False,
            create_missing=locked.create_missing,
            file_name=locked.file_name,
            payload=bytes(locked.payload),
            preview=locked,
        )
        ImportJob.objects.filter(pk=locked.pk).update(payload=b"", keep_until=None)
        audit_record(
            actor=actor,
            action="people.import_confirm",
            object_type="people.importjob",
            object_id=str(job.pk),
            object_repr=job.file_name,
            region_code=job.region_code,
            request=request,
            details={"preview": locked.pk},
        )
        _enqueue(job)
    return job


def _enqueue(job: ImportJob) -> None:
    def enqueue() -> None:
        result = run_import_job.enqueue(job.pk)
        ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])

    transaction.on_commit(enqueue)
