from django.contrib import admin

from shequ.core.admin import ScopedAdminMixin, ServiceAdminMixin
from shequ.property.models import PropertyCompany


@admin.register(PropertyCompany)
class PropertyCompanyAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "service_phone", "region_code", "is_synthetic")
    search_fields = ("name",)
