from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueConfig(AppConfig):
    name = "shequ.queue"
    label = "queue"
    verbose_name = _("后台任务")

    def ready(self) -> None:
        from shequ.core import metrics
        from shequ.core.nav import NavEntry, register
        from shequ.queue import jobs, selectors

        register(
            NavEntry(
                "system",
                _("后台任务"),
                "queue-status",
                perm="queue.view_queuedtask",
                order=90,
                icon="gear",
            )
        )
        jobs.register_housekeeping()
        metrics.register_gauge(
            "shequ_queue_tasks",
            "Tasks in the queue by queue name and status (READY = depth).",
            selectors.queue_gauge,
            labels=("queue", "status"),
        )
