from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "shequ.notifications"
    label = "notifications"
    verbose_name = _("通知中心")

    def ready(self) -> None:
        from shequ.core.nav import NavEntry, register

        register(
            NavEntry("system", _("通知"), "notifications", order=90, icon="bell"),
        )
