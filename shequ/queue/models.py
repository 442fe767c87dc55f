"""The database-backed task queue: one row per enqueued task, one row per periodic slot run."""

from django.db import models
from django.tasks import TaskResultStatus
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class QueuedTask(models.Model):
    """A task enqueued through Django's Tasks API (`task.enqueue()`), waiting, running or done.

    READY rows whose `run_after` has passed are claimed by a worker (compare-and-set to RUNNING
    with a lease). A worker that dies leaves a RUNNING row whose lease expires; any worker then
    puts it back to READY, so an acknowledged task is never lost (at-least-once delivery).
    """

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    task_path = models.CharField(_("任务"), max_length=300)
    queue_name = models.CharField(_("队列"), max_length=100, default="default")
    priority = models.SmallIntegerField(_("优先级"), default=0)
    backend = models.CharField(max_length=100, default="default")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=TaskResultStatus.choices, default=TaskResultStatus.READY
    )
    run_after = models.DateTimeField(_("最早执行时间"), null=True, blank=True)
    enqueued_at = models.DateTimeField(_("入队时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    last_attempted_at = models.DateTimeField(_("最近尝试"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=80, blank=True)  # "<worker id>#<attempt>"
    retry_base = models.PositiveIntegerField(default=0)  # attempts before an operator's retry
    worker_ids = models.JSONField(default=list, blank=True)  # one entry per attempt
    errors = models.JSONField(default=list, blank=True)  # [{exception_class_path, traceback}]
    return_value = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-enqueued_at"]
        indexes = [
            models.Index(
                fields=["status", "queue_name", "-priority", "run_after"], name="queue_claim"
            ),
            models.Index(fields=["status", "lease_until"], name="queue_lease"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=-100, priority__lte=100),
                name="queue_priority_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} [{self.id}] {self.status}"

    @property
    def attempts(self) -> int:
        return len(self.worker_ids)


class PeriodicRun(models.Model):
    """One run of a periodic job for one period ("slot"). The unique constraint is the lock:
    however many workers on however many machines try, exactly one inserts the row and enqueues
    the job for that slot."""

    name = models.CharField(_("周期任务"), max_length=100)
    slot = models.BigIntegerField(_("周期序号"))
    claimed_at = models.DateTimeField(_("触发时间"), default=timezone.now, db_index=True)
    worker_id = models.CharField(max_length=64, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("周期任务运行")
        verbose_name_plural = _("周期任务运行")
        ordering = ["-claimed_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="periodic_once_per_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.name}#{self.slot}"
