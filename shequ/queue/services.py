"""Operator actions on the queue."""

from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core.actors import User
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, NotFoundError
from shequ.queue.selectors import queue_backend


def queued_task_retry(*, result_id: str, actor: User, request: HttpRequest | None = None) -> None:
    """Run a FAILED task again with a fresh round of attempts (audited)."""
    backend = queue_backend()
    if backend is None:
        raise NotFoundError(_("未启用持久任务队列。"))
    if not backend.retry(result_id=result_id):
        raise ConflictError(_("该任务不是失败状态，无法重试。"), code="not_failed")
    audit_record(
        actor=actor,
        action="queue.task_retry",
        object_type="queue.task",
        object_id=result_id,
        object_repr=result_id,
        request=request,
    )
