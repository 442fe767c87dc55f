from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shequ.core.admin import ScopedAdminMixin, ServiceAdminMixin
from shequ.geo import services
from shequ.geo.models import Building, Estate, FunctionalZone, House, Region


class RegionForm(forms.ModelForm):
    class Meta:
        model = Region
        fields = [
            "code",
            "name",
            "level",
            "kind",
            "parent",
            "urban_rural_class",
            "polygon",
            "is_synthetic",
        ]
        help_texts = {"polygon": _("GeoJSON 格式（WGS-84 经纬度），Polygon 或 MultiPolygon。")}

    def clean(self):
        data = super().clean()
        errors = services.region_errors(
            code=data.get("code", ""),
            level=data.get("level", ""),
            kind=data.get("kind", ""),
            parent=data.get("parent"),
            polygon=data.get("polygon"),
            pk=self.instance.pk,
        )
        if errors:
            raise ValidationError(
                {field if field in self.fields else None: msgs for field, msgs in errors.items()}
            )
        return data


@admin.register(Region)
class RegionAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    scope_field = "code"
    form = RegionForm
    list_display = ("code", "name", "level", "kind", "urban_rural_class", "is_synthetic")
    list_filter = ("level", "kind", "is_synthetic")
    search_fields = ("code", "name")
    readonly_fields = ("centroid_lat", "centroid_lng", "updated_at")
    autocomplete_fields = ("parent",)
    list_per_page = 50

    def save_model(self, request, obj, form, change):
        services.region_apply_geometry(obj)
        super().save_model(request, obj, form, change)


@admin.register(FunctionalZone)
class FunctionalZoneAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name",)
    filter_horizontal = ("townships",)


@admin.register(Estate)
class EstateAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "region_code", "property_company")
    list_filter = ("kind", "property_company")
    search_fields = ("name", "region_code")
    autocomplete_fields = ("grid",)

    def save_model(self, request, obj, form, change):
        services.estate_prepare(obj)
        super().save_model(request, obj, form, change)


class BuildingForm(forms.ModelForm):
    class Meta:
        model = Building
        fields = [
            "code",
            "grid",
            "estate",
            "name",
            "address",
            "lat",
            "lng",
            "floors",
            "units",
            "is_rural_house",
        ]

    def clean(self):
        data = super().clean()
        probe = Building(**{k: v for k, v in data.items() if k in self.Meta.fields})
        errors = services.building_errors(probe) if probe.grid_id else {}
        if errors:
            raise ValidationError(errors)
        return data


@admin.register(Building)
class BuildingAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    form = BuildingForm
    list_display = ("code", "address", "floors", "units", "region_code")
    search_fields = ("code", "address", "name")
    autocomplete_fields = ("grid", "estate")
    list_per_page = 50

    def save_model(self, request, obj, form, change):
        services.building_prepare(obj)
        super().save_model(request, obj, form, change)


@admin.register(House)
class HouseAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("code", "building", "unit", "floor", "room")
    search_fields = ("code", "building__address")
    autocomplete_fields = ("building",)
    list_select_related = ("building",)
    list_per_page = 50

    def save_model(self, request, obj, form, change):
        services.house_prepare(obj)
        super().save_model(request, obj, form, change)
