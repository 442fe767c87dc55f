"""Excel import of residents (实有人口台账): read → validate every row → write all or nothing.

Real-world 台账 vary, so the reader copes with a title row or merged header rows above the
header, header synonyms (身份证号/身份证号码/公民身份号码 …), ID numbers that Excel turned into
numbers (digits lost — detected and explained), full-width digits and letters, stray spaces and
dates as text or as Excel dates. Each row's place is its 网格 column (code or name), else an
existing building of the community, else the default grid; missing estates, buildings and houses
are created inside that grid.

Validation finds every problem first (row, column, Chinese message, masked value). Only a file
without errors is written, in one transaction: people are upserted by ID number (re-importing
the same file adds nothing), a move ends the old house link and starts a new one, and one audit
row records the import. Plaintext numbers exist only in memory; the uploaded file waits for the
worker encrypted (ImportJob.payload) and is discarded when the job ends.
"""

from collections.abc import Callable

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.errors import ServiceError
from shequ.people.choices import ImportStatus
from shequ.people.importing.checking import Outcome, Validator
from shequ.people.importing.reading import (
    COLUMN_LABELS,
    HEADERS,
    TEMPLATE_COLUMNS,
    FileProblem,
    Problem,
    read_rows,
)
from shequ.people.importing.writing import Writer
from shequ.people.models import ImportJob

__all__ = [
    "COLUMN_LABELS",
    "HEADERS",
    "TEMPLATE_COLUMNS",
    "FileProblem",
    "Outcome",
    "Problem",
    "import_file",
    "run_job",
]


def import_file(
    content: bytes,
    *,
    actor,
    community_code: str,
    default_grid_code: str = "",
    dry_run: bool = False,
    job: ImportJob | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Validate a file and, when every row is valid and this is not a dry run, write it.

    Raises ServiceError for problems with the whole file or the request (bad community,
    no permission, no header); row problems are returned in `Outcome.problems`."""
    validator = Validator(
        actor=actor,
        community_code=community_code,
        default_grid_code=default_grid_code,
        progress=progress,
    )
    # Reading is the first half of the progress bar, validation the second.
    parsed = read_rows(
        content, (lambda done, total: progress(done, 2 * total)) if progress else None
    )
    rows, outcome = validator.validate(parsed)
    if outcome.total == 0:
        raise FileProblem(_("文件中没有数据行。"))
    if outcome.ok and not dry_run:
        if job is not None:
            ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.WRITING)
        Writer(validator).write(rows, outcome, job=job)
    elif outcome.ok:
        outcome.created = sum(1 for row in rows if row.existing is None)
        outcome.updated = len(rows) - outcome.created
    return outcome


def run_job(job_id: int) -> None:
    """Process one ImportJob (the background task's body). Bad input never raises: the job
    row records the outcome. The encrypted upload is discarded when the job ends."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    taken = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.VALIDATING, started_at=timezone.now()
    )
    if taken != 1:
        return  # already taken by another worker

    def progress(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done, total_rows=total)

    try:
        outcome = import_file(
            bytes(job.payload),
            actor=job.created_by,
            community_code=job.region_code,
            default_grid_code=job.default_grid_code,
            dry_run=job.dry_run,
            job=job,
            progress=progress,
        )
    except ServiceError as exc:
        _finish(job, ImportStatus.FAILED, message=exc.message)
        return
    except Exception as exc:
        _finish(
            job,
            ImportStatus.FAILED,
            message=_("处理失败（%(e)s），未写入任何数据。") % {"e": type(exc).__name__},
        )
        raise
    if not outcome.ok:
        status = ImportStatus.REJECTED
        message = _("发现 %(e)d 处错误，未写入任何数据。请修改后重新上传。") % {
            "e": len(outcome.problems)
        }
    elif job.dry_run:
        status = ImportStatus.SUCCEEDED
        message = _("校验通过（仅校验，未写入）：将新增 %(c)d 人，更新 %(u)d 人。") % {
            "c": outcome.created,
            "u": outcome.updated,
        }
    else:
        status = ImportStatus.SUCCEEDED
        message = _("导入完成：新增 %(c)d 人，更新 %(u)d 人，未变化 %(n)d 人。") % {
            "c": outcome.created,
            "u": outcome.updated,
            "n": outcome.unchanged,
        }
    _finish(job, status, message=message, outcome=outcome)


def _finish(job: ImportJob, status: str, *, message: str, outcome: Outcome | None = None) -> None:
    values = {"status": status, "message": message, "finished_at": timezone.now(), "payload": b""}
    if outcome is not None:
        values.update(
            total_rows=outcome.total,
            processed_rows=outcome.total,
            created_count=outcome.created,
            updated_count=outcome.updated,
            unchanged_count=outcome.unchanged,
            error_count=len(outcome.problems),
            report=[p.as_dict() for p in outcome.problems],
        )
    ImportJob.objects.filter(pk=job.pk).update(**values)
