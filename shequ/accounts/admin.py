from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from shequ.accounts.models import ApiToken, Assignment, User
from shequ.accounts.services import assignment_problem


class AssignmentForm(forms.ModelForm):
    class Meta:
        model = Assignment
        fields = ("role", "region", "property_company", "is_active")

    def clean(self):
        data = super().clean()
        if data.get("role"):
            problem = assignment_problem(
                role=data["role"],
                region=data.get("region"),
                property_company=data.get("property_company"),
            )
            if problem:
                raise forms.ValidationError(problem)
        return data


class AssignmentInline(admin.TabularInline):
    model = Assignment
    form = AssignmentForm
    extra = 0
    autocomplete_fields = ("region",)
    fields = ("role", "region", "property_company", "is_active")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "masked_mobile", "is_staff", "is_active")
    search_fields = ("username", "full_name")
    inlines = [AssignmentInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("full_name", "email", "elder_mode")}),
        (
            _("权限"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups")},
        ),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description=_("手机号码"))
    def masked_mobile(self, obj):
        return obj.masked_mobile


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "prefix",
        "user",
        "name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
    search_fields = ("user__username", "name", "prefix")
