from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "shequ.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from shequ.core import checks, roles  # noqa: F401 - checks register themselves

        roles.collect_grants()
