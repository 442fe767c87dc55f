"""Application keys in the admin: the key is generated on creation and shown once; only its
hash is stored. Revoking is an action (and a field)."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.open311.keys import hash_key, new_key
from shequ.open311.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
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
    readonly_fields = ("prefix", "created_at", "last_used_at")
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

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: cases keep the key's name as their client

    def save_model(self, request, obj, form, change):
        if not change:
            plaintext = new_key()
            obj.key_hash = hash_key(plaintext)
            obj.prefix = plaintext[:8]
            super().save_model(request, obj, form, change)
            self.message_user(
                request,
                _("密钥已生成，仅显示这一次，请立即复制给接入方：%(key)s") % {"key": plaintext},
                messages.WARNING,
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=_("撤销所选密钥"))
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("已撤销 %(n)d 个密钥。") % {"n": count})
