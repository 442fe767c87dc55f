"""Excel import of residents (实有人口台账): read → validate every row → plan → write all or
nothing.

Real-world 台账 vary, so the reader copes with title rows and merged header rows above the
header, a 序号 column, blank spacer rows, header synonyms (身份证号/身份证号码/公民身份号码,
联系电话/手机号, 与户主关系/关系 …), a repeated header (pages pasted together), ID numbers that
Excel turned into numbers (digits lost — detected and explained), full-width digits and letters,
stray spaces and dates as text or as Excel dates (`reading`). Each row's place is found from the
estate, building and room it names, or its 网格 column, or the default grid; a place the system
does not have is an error naming it unless the import creates missing places, listed in the
report (`places`). Without a 户号 column the people of one house are grouped under their 户主
(`households`). Tags are recognised by name, code or any synonym (`tags`); an unknown one is a
warning with the closest spelling, the row imports without it.

Validation finds every problem first (row, column, Chinese message, masked value). The plan
(`planning`) then works out exactly what the import changes — the dry run (preview) stops there,
so its counts and warnings are the real import's. Only a file without errors is written, in one
transaction (`writing`): people are upserted by ID number (re-importing the same file changes
nothing), a move ends the old house link and starts a new one, and one audit row records the
import. Plaintext numbers exist only in memory; the uploaded file waits for the worker encrypted
(ImportJob.payload) and is discarded when the job ends (a preview's when it is confirmed, or
after PREVIEW_KEPT_FOR).
"""

from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.actors import Actor
from shequ.core.errors import ServiceError
from shequ.people.choices import ImportStatus
from shequ.people.importing.checking import Outcome, Validator
from shequ.people.importing.planning import ENTITIES, plan_import
from shequ.people.importing.reading import (
    COLUMN_LABELS,
    HEADERS,
    TEMPLATE_COLUMNS,
    FileProblem,
    FileTooLarge,
    Problem,
    check_size,
    max_import_bytes,
    read_rows,
)
from shequ.people.importing.writing import ImportDrift, write_plan
from shequ.people.models import ImportJob

__all__ = [
    "COLUMN_LABELS",
    "ENTITIES",
    "HEADERS",
    "PREVIEW_KEPT_FOR",
    "TEMPLATE_COLUMNS",
    "FileProblem",
    "FileTooLarge",
    "Outcome",
    "Problem",
    "check_size",
    "import_file",
    "max_import_bytes",
    "purge_expired_previews",
    "run_job",
]

# A preview (dry run) keeps its encrypted file this long, so that it can be confirmed.
PREVIEW_KEPT_FOR = timedelta(hours=24)


def import_file(
    content: bytes,
    *,
    actor: Actor,
    community_code: str,
    default_grid_code: str = "",
    dry_run: bool = False,
    create_missing: bool = False,
    job: ImportJob | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Validate a file, plan what it changes and, when every row is valid and this is not a
    dry run, write the plan. A dry run returns the same summary and warnings that the import
    would (one code path up to the writer).

    Raises ServiceError for problems with the whole file or the request (too large, bad
    community, no permission, no header); row problems are in `Outcome.problems`, row warnings
    in `Outcome.warnings`."""
    check_size(len(content))
    validator = Validator(
        actor=actor,
        community_code=community_code,
        default_grid_code=default_grid_code,
        create_missing=create_missing,
        progress=progress,
    )
    # Reading is the first half of the progress bar, validation the second.
    parsed = read_rows(
        content,
        (lambda done, total: progress(done, 2 * total)) if progress else None,
        extra_headers=validator.extra_headers(),
    )
    rows, outcome = validator.validate(parsed)
    if outcome.total == 0:
        raise FileProblem(_("文件中没有数据行。"))
    if not outcome.ok:
        return outcome
    plan = plan_import(validator, rows, outcome)
    if not dry_run:
        if job is not None:
            ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.WRITING)
        write_plan(plan, outcome, actor=actor, community=validator.community, job=job)
    return outcome


def run_job(job_id: int) -> None:
    """Process one ImportJob (the background task's body). Bad input never raises: the job
    row records the outcome. The encrypted upload is discarded when the job ends — except a
    preview's, kept for PREVIEW_KEPT_FOR so that it can be confirmed."""
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
            create_missing=job.create_missing,
            job=job,
            progress=progress,
        )
    except ServiceError as exc:
        _finish(job, ImportStatus.FAILED, message=exc.message)
        return
    except (ImportDrift, IntegrityError):
        _finish(
            job,
            ImportStatus.FAILED,
            message=_("导入期间相关数据被其他操作修改，未写入任何数据。请重新导入。"),
        )
        return
    except Exception as exc:
        _finish(
            job,
            ImportStatus.FAILED,
            message=_("处理失败（%(e)s），未写入任何数据。") % {"e": type(exc).__name__},
        )
        raise
    counts = {
        "c": outcome.created,
        "u": outcome.updated,
        "n": outcome.unchanged,
        "w": len(outcome.warnings),
    }
    keep = False
    if not outcome.ok:
        status = ImportStatus.REJECTED
        message = _("发现 %(e)d 处错误，未写入任何数据。请修改后重新上传。") % {
            "e": len(outcome.problems)
        }
    elif job.dry_run:
        status, keep = ImportStatus.SUCCEEDED, True
        message = (
            _(
                "预览：校验通过，尚未写入。导入将新增 %(c)d 人，更新 %(u)d 人，%(n)d 人不变；"
                "提示 %(w)d 条。确认无误后请点“确认导入”。"
            )
            % counts
        )
    else:
        status = ImportStatus.SUCCEEDED
        message = (
            _("导入完成：新增 %(c)d 人，更新 %(u)d 人，未变化 %(n)d 人；提示 %(w)d 条。") % counts
        )
    _finish(job, status, message=message, outcome=outcome, keep=keep)


def _finish(
    job: ImportJob, status: str, *, message: str, outcome: Outcome | None = None, keep=False
) -> None:
    now = timezone.now()
    values = {"status": status, "message": message, "finished_at": now}
    if keep:
        values["keep_until"] = now + PREVIEW_KEPT_FOR
    else:
        values.update(payload=b"", keep_until=None)
    if outcome is not None:
        values.update(
            total_rows=outcome.total,
            processed_rows=outcome.total,
            created_count=outcome.created,
            updated_count=outcome.updated,
            unchanged_count=outcome.unchanged,
            error_count=len(outcome.problems),
            warning_count=len(outcome.warnings),
            report=outcome.report,
            summary={"counts": outcome.summary, "new_places": outcome.new_places},
        )
    ImportJob.objects.filter(pk=job.pk).update(**values)


def purge_expired_previews() -> int:
    """Discard the kept files of previews nobody confirmed in time (a periodic job)."""
    return ImportJob.objects.filter(keep_until__lt=timezone.now()).update(
        payload=b"", keep_until=None
    )
