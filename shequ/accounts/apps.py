from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "shequ.accounts"
    label = "accounts"
    verbose_name = _("账号与权限")

    def ready(self) -> None:
        from shequ.core.crypto import register_encrypted_field
        from shequ.core.phones import normalize_mobile

        # Registered once so lookups, writes and `rotate_data_key` hash it the same way.
        register_encrypted_field(
            "accounts.user", "mobile", hash_field="mobile_hash", normalize=normalize_mobile
        )
        register_encrypted_field("accounts.totpdevice", "secret")  # no lookups, no hash

        from django.contrib import admin

        from shequ.accounts.services import may_use_admin

        # The admin is for operators: `is_staff` alone (an old row, a hand edit) is not enough.
        admin.site.has_permission = lambda request: may_use_admin(request.user)  # type: ignore[method-assign]  # the one site instance's check, replaced on purpose

        from axes.signals import user_locked_out

        from shequ.accounts.lockout import audit_lockout

        user_locked_out.connect(audit_lockout, dispatch_uid="shequ.accounts.audit_lockout")
