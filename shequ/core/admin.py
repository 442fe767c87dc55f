"""Admin helpers: every admin list goes through the scoping helper for non-superusers; the
admin of the core's own tables (the audit log, read-only; the working calendar)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from shequ.core.configuration import config_record_delete, config_record_save
from shequ.core.models import AuditEvent, CalendarDay
from shequ.core.scoping import has_perm, scoped


class ScopedAdminMixin:
    """Limit an admin's rows, choices and saves to the user's scope.

    `scope_field` is the model's region-code field; foreign keys to scoped models offer only
    in-scope rows; saving an object outside the scope is refused.
    """

    scope_field = "region_code"

    def _perm(self, action: str, model=None) -> str:
        opts = (model or self.model)._meta
        return f"{opts.app_label}.{action}_{opts.model_name}"

    def get_queryset(self, request):
        return scoped(
            super().get_queryset(request), request.user, self._perm("view"), field=self.scope_field
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        field = getattr(related, "admin_scope_field", None)
        if field and not request.user.is_superuser:
            base = kwargs.get("queryset", related._default_manager.all())
            kwargs["queryset"] = scoped(
                base, request.user, self._perm("view", related), field=field
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        code = getattr(obj, self.scope_field, "") or ""
        action = "change" if change else "add"
        if not request.user.is_superuser and not has_perm(request.user, self._perm(action), code):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


class ServiceAdminMixin:
    """Save and delete through the audited configuration services (shequ/core/configuration.py)
    instead of the admin's own ORM writes; put it after ScopedAdminMixin so the scope check runs
    first. The bulk "delete selected" action goes through the same service, row by row."""

    def save_model(self, request, obj, form, change):
        config_record_save(
            obj=obj,
            actor=request.user,
            changed_fields=form.changed_data if change else (),
            request=request,
        )

    def delete_model(self, request, obj):
        config_record_delete(obj=obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            config_record_delete(obj=obj, actor=request.user, request=request)


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("at", "actor_name", "action", "object_type", "object_repr", "reason", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "action", "object_id", "object_repr", "reason")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """The editable working calendar: enter next year's holidays and make-up days (调休) when
    the State Council publishes them, or local changes. Overrides the chinese-calendar package."""

    list_display = ("date", "is_workday", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "date"
