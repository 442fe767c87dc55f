"""Application keys in the admin: the key is generated on creation and shown once; only its
hash is stored. Creating, changing and revoking go through the audited services of
shequ.open311.keys, like the `open311_key` command."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from shequ.open311.keys import MAX_RATE_LIMIT, api_key_change, api_key_create, api_key_revoke
from shequ.open311.models import ApiKey


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "contact", "rate_limit", "can_post_updates")

    def clean_rate_limit(self):
        value = self.cleaned_data["rate_limit"]
        if not 1 <= value <= MAX_RATE_LIMIT:
            raise forms.ValidationError(_("每分钟请求上限应为 1–1000000。"))
        return value


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "prefix",
        "rate_limit",
        "can_post_updates",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("can_post_updates",)
    search_fields = ("name", "prefix", "contact")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = (
        "name",
        "contact",
        "rate_limit",
        "can_post_updates",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # The name is the key's identity in cases (their client): fixed once created.
        return (*self.readonly_fields, "name") if obj is not None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: cases keep the key's name as their client

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            api_key_change(
                key=obj,
                rate_limit=data["rate_limit"],
                can_post_updates=data["can_post_updates"],
                contact=data.get("contact", ""),
                actor=request.user,
            )
            return
        row, plaintext = api_key_create(
            name=data["name"],
            rate_limit=data["rate_limit"],
            can_post_updates=data["can_post_updates"],
            contact=data.get("contact", ""),
            actor=request.user,
        )
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = (
            row.pk,
            row.prefix,
            row.key_hash,
            row.created_at,
        )
        obj._state.adding = False
        self.message_user(
            request,
            _("密钥已生成，仅显示这一次，请立即复制给接入方：%(key)s") % {"key": plaintext},
            messages.WARNING,
        )

    @admin.action(description=_("撤销所选密钥"))
    def revoke(self, request, queryset):
        count = 0
        for row in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(name=row.name, actor=request.user)
            count += 1
        self.message_user(request, _("已撤销 %(n)d 个密钥。") % {"n": count})
