from django.contrib import admin

from shequ.notifications.models import Delivery, Notification


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = ("channel", "status", "detail", "at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Superusers only (no role is granted these model permissions): a support view."""

    list_display = ("created_at", "recipient", "kind", "title", "read_at")
    list_filter = ("kind",)
    search_fields = ("title", "recipient__username")
    readonly_fields = [f.name for f in Notification._meta.fields]
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
