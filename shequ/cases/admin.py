"""Admin: the category tree with its time limits and attributes, and a read-only, scoped view of cases (state changes happen only through the services)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from shequ.cases.models import Case, CaseEvent, Category, CategoryAttribute
from shequ.core.admin import ScopedAdminMixin, ServiceAdminMixin
from shequ.core.deadlines import deadlines_sweep
from shequ.core.scoping import has_perm


class AttributeInline(admin.TabularInline):
    model = CategoryAttribute
    extra = 0
    fields = ("order", "code", "name", "datatype", "required", "values", "description")


@admin.register(Category)
class CategoryAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "parent",
        "handler_type",
        "priority",
        "handle_limit",
        "handle_unit",
        "photo_required",
        "auto_dispatch",
        "is_active",
    )
    list_filter = ("parent", "handler_type", "handle_unit", "is_active")
    search_fields = ("code", "name", "keywords")
    list_select_related = ("parent",)
    inlines = [AttributeInline]
    fieldsets = (
        (
            None,
            {"fields": ("code", "name", "parent", "description", "keywords", "order", "is_active")},
        ),
        (
            _("处置"),
            {"fields": ("handler_type", "priority", "photo_required", "auto_dispatch")},
        ),
        (
            _("各环节时限"),
            {
                "fields": (
                    ("register_limit", "register_unit"),
                    ("dispatch_limit", "dispatch_unit"),
                    ("handle_limit", "handle_unit"),
                    ("verify_limit", "verify_unit"),
                )
            },
        ),
        (
            _("升级与重复"),
            {
                "fields": (
                    "escalation_ladder",
                    ("escalation_grace", "escalation_grace_unit"),
                    ("duplicate_radius_m", "duplicate_days"),
                )
            },
        ),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: cases keep their category


class EventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("at", "action", "from_status", "to_status", "actor_name", "actor_role", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Read-only: cases change state through the services (pages, API, Open311, sweep)."""

    list_display = (
        "code",
        "category",
        "status",
        "region_code",
        "channel",
        "reported_at",
        "due_at",
        "sla_level",
    )
    list_filter = ("status", "channel", "sla_level", "handler_type")
    search_fields = ("code", "source_ref")
    list_select_related = ("category",)
    date_hierarchy = "reported_at"
    inlines = [EventInline]
    exclude = ("contact_phone", "contact_phone_hash")
    actions = ["run_sla_sweep"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Case._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or has_perm(request.user, "cases.view_case")

    @admin.action(description=_("立即执行一次时限巡检"))
    def run_sla_sweep(self, request, queryset):
        result = deadlines_sweep()
        self.message_user(request, str(result.as_dict()), messages.INFO)
