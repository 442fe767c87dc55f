from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "shequ.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from shequ.core import checks, roles, rotation  # noqa: F401 - checks register themselves
        from shequ.core.nav import NavEntry, register

        roles.collect_grants()
        register(NavEntry("system", _("审计日志"), "audit", perm="core.search_audit", order=90))
