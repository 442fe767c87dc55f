from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "shequ.analytics"
    label = "analytics"
    verbose_name = _("驾驶舱")

    def ready(self) -> None:
        from shequ.analytics.tasks import warnings_task
        from shequ.core import schedule
        from shequ.core.nav import NavEntry, register

        register(
            NavEntry(
                "grid",
                _("驾驶舱"),
                "analytics-cockpit",
                perm="cases.indicators",
                order=0,
                icon="chart",
            ),
        )
        # Hourly, at minute 7 (away from the top-of-the-hour jobs).
        schedule.register(
            "analytics.warnings",
            warnings_task,
            every=timedelta(hours=1),
            offset=timedelta(minutes=7),
        )
