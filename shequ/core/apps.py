from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "shequ.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        # checks and rotation are imported for their registrations (system checks)
        from shequ.core import calendar, checks, roles, rotation, schedule  # noqa: F401
        from shequ.core.deadlines import deadlines_sweep_task
        from shequ.core.models import CalendarDay
        from shequ.core.nav import NavEntry, register

        roles.collect_grants()
        register(NavEntry("system", _("审计日志"), "audit", perm="core.search_audit", order=90))
        # The one sweep over every deadline: the apps' participant sweeps and the Deadline rows.
        schedule.register("core.deadlines_sweep", deadlines_sweep_task, every=timedelta(minutes=1))
        # Cache invalidation only (no business rule): a changed calendar day rebuilds the axis.
        post_save.connect(calendar.calendar_changed, sender=CalendarDay, dispatch_uid="cal-saved")
        post_delete.connect(
            calendar.calendar_changed, sender=CalendarDay, dispatch_uid="cal-deleted"
        )
