"""Database-backed queue (the default): tasks are rows in `queue_queuedtask`.

No extra server; works on SQLite and PostgreSQL. Enqueueing inside a transaction is atomic
with the transaction's other writes — a rolled-back request leaves no task behind and a
committed one always has its task (a transactional outbox). Claims use `SELECT … FOR UPDATE
SKIP LOCKED` on PostgreSQL (many workers never wait on each other) and SQLite's write lock
(`transaction_mode=IMMEDIATE`) elsewhere, then a compare-and-set on the status.

OPTIONS (besides the common ones in `base.QueueBackend`): DATABASE (alias, default "default").
"""

from django.db import transaction
from django.db.models import Count, Q
from django.tasks import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone

from shequ.queue.backends.base import Claimed, QueueBackend, TaskRow
from shequ.queue.models import QueuedTask

READY, RUNNING = TaskResultStatus.READY, TaskResultStatus.RUNNING
FAILED, SUCCESSFUL = TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL
FIELDS = (
    "id",
    "task_path",
    "queue_name",
    "priority",
    "args",
    "kwargs",
    "status",
    "run_after",
    "enqueued_at",
    "started_at",
    "finished_at",
    "last_attempted_at",
    "worker_ids",
    "errors",
    "return_value",
    "retry_base",
)


def _record(row: QueuedTask) -> dict:
    return {name: getattr(row, name) for name in FIELDS}


class DatabaseBackend(QueueBackend):
    def __init__(self, alias, params):
        super().__init__(alias, params)
        self.db = self.options.get("DATABASE", "default")

    @property
    def objects(self):
        return QueuedTask.objects.using(self.db)

    def enqueue(self, task, args, kwargs):
        self.validate_task(task)
        record = self.new_record(task, args, kwargs)
        self.objects.create(backend=self.alias, **record)
        result = self.make_result(task=task, record=record)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id):
        row = self.objects.filter(pk=result_id).first()
        if row is None:
            raise TaskResultDoesNotExist(result_id)
        return self.result_from_record(_record(row))

    def claim(self, *, worker_id, queues):
        now = timezone.now()
        due = (
            self.objects.filter(status=READY, queue_name__in=queues)
            .filter(Q(run_after__isnull=True) | Q(run_after__lte=now))
            .order_by("-priority", "enqueued_at")
        )
        with transaction.atomic(using=self.db):
            row = due.select_for_update(skip_locked=True).first()
            if row is None:
                return None
            row.worker_ids = [*row.worker_ids, worker_id]
            token = f"{worker_id}#{len(row.worker_ids)}"
            changed = self.objects.filter(pk=row.pk, status=READY).update(
                status=RUNNING,
                started_at=row.started_at or now,
                last_attempted_at=now,
                lease_until=now + self.lease,
                lease_owner=token,
                worker_ids=row.worker_ids,
            )
            if changed != 1:  # another worker won the race (only possible without row locks)
                return None
        row.status, row.last_attempted_at = RUNNING, now
        row.started_at = row.started_at or now
        return Claimed(
            result=self.result_from_record(_record(row)),
            attempt=len(row.worker_ids) - row.retry_base,
            token=token,
        )

    def _leased(self, result_id, token):
        """Rows of this task still RUNNING under this lease (empty once the lease was lost)."""
        return self.objects.filter(pk=result_id, status=RUNNING, lease_owner=token)

    def extend_lease(self, *, result_id, token):
        return self._leased(result_id, token).update(lease_until=timezone.now() + self.lease) == 1

    def mark_successful(self, *, result_id, token, return_value):
        return (
            self._leased(result_id, token).update(
                status=SUCCESSFUL,
                finished_at=timezone.now(),
                lease_until=None,
                lease_owner="",
                return_value=return_value,
            )
            == 1
        )

    def mark_failed(self, *, result_id, token, error, retry_at):
        with transaction.atomic(using=self.db):
            row = self._leased(result_id, token).select_for_update().first()
            if row is None:
                return False
            errors = [
                *row.errors,
                {"exception_class_path": error.exception_class_path, "traceback": error.traceback},
            ]
            if retry_at is None:
                changes = {"status": FAILED, "finished_at": timezone.now()}
            else:
                changes = {"status": READY, "run_after": retry_at}
            return (
                self._leased(result_id, token).update(
                    errors=errors, lease_until=None, lease_owner="", **changes
                )
                == 1
            )

    def recover_expired(self):
        now = timezone.now()
        return self.objects.filter(status=RUNNING, lease_until__lt=now).update(
            status=READY, lease_until=None, lease_owner="", run_after=now
        )

    def counts(self):
        return {
            (row["queue_name"], row["status"]): row["n"]
            for row in self.objects.values("queue_name", "status").annotate(n=Count("id"))
        }

    def rows(self, *, status, limit=50):
        order = "-finished_at" if status in (FAILED, SUCCESSFUL) else "enqueued_at"
        return [
            TaskRow(
                id=row.id,
                task_path=row.task_path,
                queue_name=row.queue_name,
                status=row.status,
                attempts=len(row.worker_ids),
                enqueued_at=row.enqueued_at,
                run_after=row.run_after,
                finished_at=row.finished_at,
                last_error=(row.errors[-1]["exception_class_path"] if row.errors else ""),
            )
            for row in self.objects.filter(status=status).order_by(order)[:limit]
        ]

    def retry(self, *, result_id):
        with transaction.atomic(using=self.db):
            row = self.objects.select_for_update().filter(pk=result_id, status=FAILED).first()
            if row is None:
                return False
            return (
                self.objects.filter(pk=result_id, status=FAILED).update(
                    status=READY,
                    run_after=None,
                    finished_at=None,
                    retry_base=len(row.worker_ids),
                )
                == 1
            )

    def purge(self, *, finished_before, failed_before):
        deleted, _ = self.objects.filter(
            Q(status=SUCCESSFUL, finished_at__lt=finished_before)
            | Q(status=FAILED, finished_at__lt=failed_before)
        ).delete()
        return deleted
