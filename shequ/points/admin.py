"""Admin: configuration (rules, stores, merchants and their cashiers) through the scoping helper.

Ledger rows are read-only here: points move only through the services (pages, API, commands).
"""

from django.contrib import admin

from shequ.core.admin import ScopedAdminMixin, ServiceAdminMixin
from shequ.points.models import Account, Merchant, PointsRule, Store, Transfer


@admin.register(PointsRule)
class PointsRuleAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("region_code", "daily_cap", "per_task_cap", "adjustment_cap", "expiry_enabled")


@admin.register(Store)
class StoreAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "region_code", "opening_hours", "is_active")


@admin.register(Merchant)
class MerchantAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "category", "region_code", "yuan_per_point", "is_active")
    filter_horizontal = ("operators",)
    search_fields = ("name",)


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "point_kind", "region_code", "balance")
    list_filter = ("kind", "point_kind")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "point_kind", "amount", "reason", "actor")
    list_filter = ("kind", "point_kind")
    search_fields = ("key", "reason")
