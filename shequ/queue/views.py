"""The operators' page: queue depth per status and the tasks that failed for good."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.tasks import TaskResultStatus
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shequ.core.errors import ServiceError
from shequ.core.scoping import has_perm, require_page_perm
from shequ.queue import selectors, services
from shequ.queue.models import PeriodicRun

STATUSES = list(TaskResultStatus)


@login_required
def queue_status(request):
    require_page_perm(request.user, "queue.view_queuedtask")
    counts = selectors.queue_counts()
    queues = sorted({queue for queue, _status in counts})
    table = [
        {"queue": queue, "counts": [counts.get((queue, status), 0) for status in STATUSES]}
        for queue in queues
    ]
    return render(
        request,
        "queue/status.html",
        {
            "enabled": selectors.queue_backend() is not None,
            "statuses": STATUSES,
            "table": table,
            "failed": selectors.task_rows(TaskResultStatus.FAILED, limit=50),
            "waiting": selectors.task_rows(TaskResultStatus.READY, limit=20),
            "periodic": PeriodicRun.objects.order_by("-claimed_at")[:20],
            "can_retry": request.user.is_superuser
            or has_perm(request.user, "queue.change_queuedtask"),
        },
    )


@login_required
@require_POST
def queue_retry(request, result_id: str):
    require_page_perm(request.user, "queue.change_queuedtask")
    try:
        services.queued_task_retry(result_id=result_id, actor=request.user, request=request)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已重新排队。"))
    return redirect("queue-status")
