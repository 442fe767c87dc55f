"""Admin: operators see every task with its errors (tracebacks) and can retry failed ones."""

from django.contrib import admin, messages
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from shequ.core.errors import ServiceError
from shequ.queue import services
from shequ.queue.models import PeriodicRun, QueuedTask


@admin.register(QueuedTask)
class QueuedTaskAdmin(admin.ModelAdmin):
    list_display = ("task_path", "queue_name", "status", "attempts", "enqueued_at", "finished_at")
    list_filter = ("status", "queue_name")
    search_fields = ("id", "task_path")
    date_hierarchy = "enqueued_at"
    actions = ["retry_tasks"]
    readonly_fields = [f.name for f in QueuedTask._meta.fields] + ["errors_text"]
    exclude = ("errors",)

    @admin.display(description=_("错误记录"))
    def errors_text(self, obj):
        return format_html_join(
            "", "<pre>{}</pre>", ((error.get("traceback", ""),) for error in obj.errors)
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("重新排队（失败的任务）"), permissions=["retry"])
    def retry_tasks(self, request, queryset):
        done = 0
        for row in queryset.filter(status="FAILED"):
            try:
                services.queued_task_retry(result_id=row.pk, actor=request.user, request=request)
                done += 1
            except ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
        self.message_user(request, _("已重新排队 %(n)d 个任务。") % {"n": done})

    def has_retry_permission(self, request):
        return request.user.has_perm("queue.change_queuedtask")


@admin.register(PeriodicRun)
class PeriodicRunAdmin(admin.ModelAdmin):
    list_display = ("name", "slot", "claimed_at", "worker_id", "task_id")
    list_filter = ("name",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
