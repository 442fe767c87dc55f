from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "shequ.web"
    label = "web"
    verbose_name = _("门户")

    def ready(self) -> None:
        from shequ.core.nav import NavEntry, register

        register(
            NavEntry(
                "system", _("管理后台"), "admin:index", staff_only=True, order=900, icon="settings"
            ),
        )
