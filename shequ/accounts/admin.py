from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from shequ.accounts.models import ApiToken, Assignment, User
from shequ.accounts.services import (
    api_token_revoke,
    assignment_grant,
    assignment_problem,
    assignment_revoke,
    user_admin_save,
)


class AssignmentForm(forms.ModelForm):
    class Meta:
        model = Assignment
        fields = ("role", "region", "property_company", "is_active")

    def clean(self):
        super().clean()
        data = self.cleaned_data
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
    """Granting and ending roles here goes through the audited services (UserAdmin.
    save_formset); an ended role stays as an inactive row, so the inline cannot delete."""

    model = Assignment
    form = AssignmentForm
    extra = 0
    can_delete = False
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

    def save_model(self, request, obj, form, change):
        user_admin_save(
            user=obj,
            actor=request.user,
            changed_fields=form.changed_data if change else (),
            request=request,
        )

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead (is_active): cases, ledgers and audit rows name users

    def save_formset(self, request, form, formset, change):
        if formset.model is not Assignment:
            return super().save_formset(request, form, formset, change)
        user = form.instance
        # What the admin's history message reads (formset.save() would set these).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            data = getattr(row, "cleaned_data", None)
            if not data or not row.has_changed():
                continue
            scope = (data["role"], data.get("region"), data.get("property_company"))
            active = data.get("is_active", True)
            if row.instance.pk:
                before = Assignment.objects.get(pk=row.instance.pk)
                moved = scope != (before.role, before.region, before.property_company)
                if before.is_active and (moved or not active):
                    assignment_revoke(assignment=before, actor=request.user, request=request)
                if active and (moved or not before.is_active):
                    self._grant(request, user, scope)
            elif active:
                self._grant(request, user, scope)
        return None

    @staticmethod
    def _grant(request, user, scope) -> None:
        role, region, company = scope
        assignment_grant(
            user=user,
            role=role,
            region=region,
            property_company=company,
            actor=request.user,
            request=request,
        )


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
    readonly_fields = (
        "prefix",
        "user",
        "name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    exclude = ("key_hash",)
    search_fields = ("user__username", "name", "prefix")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are issued by POST /api/v1/auth/token

    def has_change_permission(self, request, obj=None):
        return False  # read-only; the revoke action goes through the audited service

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead (audited)

    @admin.action(description=_("撤销所选令牌"))
    def revoke(self, request, queryset):
        count = sum(
            api_token_revoke(token=token, actor=request.user, request=request)
            for token in queryset.select_related("user")
        )
        self.message_user(request, _("已撤销 %(n)d 个令牌。") % {"n": count})
