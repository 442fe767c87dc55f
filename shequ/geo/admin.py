from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from shequ.core.admin import ScopedAdminMixin, ServiceAdminMixin
from shequ.core.errors import PermissionDeniedError
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
        super().clean()
        data = self.cleaned_data
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
                {
                    field if field in self.fields else NON_FIELD_ERRORS: msgs
                    for field, msgs in errors.items()
                }
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


class EstateForm(forms.ModelForm):
    class Meta:
        model = Estate
        fields = ["name", "kind", "grid", "property_company"]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        grid = data.get("grid") or (self.instance.grid if self.instance.grid_id else None)
        if grid is not None and data.get("name") and data.get("kind"):
            problems = services.estate_problems(
                grid=grid, name=data["name"].strip(), kind=data["kind"], pk=self.instance.pk
            )
            if problems:
                raise ValidationError(problems)
        return data


class ServiceAdmin(ScopedAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Writes go through the geo services (permission, validation, audit row), as on the
    scoped edit pages; what anchors a row's code (its grid or building) is fixed after
    creation. Deleting (an operator's correction) is the audited configuration delete."""

    fixed_after_create: tuple[str, ...] = ()

    def service_create(self, request, data):
        """Create through the app's service; each subclass names it."""
        raise NotImplementedError

    def service_update(self, request, obj, data):
        """Update through the app's service; each subclass names it."""
        raise NotImplementedError

    def get_readonly_fields(self, request, obj=None):
        return (
            *super().get_readonly_fields(request, obj),
            *(self.fixed_after_create if obj else ()),
        )

    def save_model(self, request, obj, form, change):
        data = {k: v for k, v in form.cleaned_data.items() if k not in self.fixed_after_create}
        try:
            if change:
                original = type(obj).objects.get(pk=obj.pk)
                saved = self.service_update(request, original, data)
            else:
                saved = self.service_create(request, form.cleaned_data)
        except PermissionDeniedError:
            raise PermissionDenied from None
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(Estate)
class EstateAdmin(ServiceAdmin):
    form = EstateForm
    list_display = ("name", "kind", "region_code", "property_company")
    list_filter = ("kind", "property_company")
    search_fields = ("name", "region_code")
    autocomplete_fields = ("grid",)
    fixed_after_create = ("grid",)

    def service_create(self, request, data):
        return services.estate_create(actor=request.user, request=request, **data)

    def service_update(self, request, estate, data):
        return services.estate_update(
            actor=request.user, estate=estate, fields=data, request=request
        )


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "code" in self.fields:
            self.fields["code"].required = False
            self.fields["code"].help_text = _("留空则按网格代码自动编号。")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        grid = data.get("grid") or (self.instance.grid if self.instance.grid_id else None)
        if grid is None:
            return data
        values = {name: data.get(name) for name in services.BUILDING_FIELDS}
        problems = services.building_problems(grid=grid, values=values)
        code = data.get("code")
        if code and not code.startswith(grid.code):
            problems["code"] = _("楼栋编码应以网格代码 %(code)s 开头。") % {"code": grid.code}
        if problems:
            raise ValidationError({k: v for k, v in problems.items() if k in self.fields})
        return data


@admin.register(Building)
class BuildingAdmin(ServiceAdmin):
    form = BuildingForm
    list_display = ("code", "address", "floors", "units", "region_code")
    search_fields = ("code", "address", "name")
    autocomplete_fields = ("grid", "estate")
    list_per_page = 50
    fixed_after_create = ("code", "grid")

    def service_create(self, request, data):
        return services.building_create(actor=request.user, request=request, **data)

    def service_update(self, request, building, data):
        return services.building_update(
            actor=request.user, building=building, fields=data, request=request
        )


class HouseForm(forms.ModelForm):
    class Meta:
        model = House
        fields = ["building", "unit", "floor", "room"]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        building = data.get("building") or (
            self.instance.building if self.instance.building_id else None
        )
        if building is not None and data.get("unit") is not None:
            problems = services.house_problems(
                building=building,
                unit=data["unit"],
                floor=data.get("floor"),
                room=(data.get("room") or "").strip(),
                pk=self.instance.pk,
            )
            if problems:
                raise ValidationError(problems)
        return data


@admin.register(House)
class HouseAdmin(ServiceAdmin):
    form = HouseForm
    list_display = ("code", "building", "unit", "floor", "room")
    search_fields = ("code", "building__address")
    autocomplete_fields = ("building",)
    list_select_related = ("building",)
    list_per_page = 50
    fixed_after_create = ("building",)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "code")

    def service_create(self, request, data):
        return services.house_create(actor=request.user, request=request, **data)

    def service_update(self, request, house, data):
        return services.house_update(actor=request.user, house=house, fields=data, request=request)
