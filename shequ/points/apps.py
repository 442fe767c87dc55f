from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "shequ.points"
    label = "points"
    verbose_name = _("互融互助积分")

    def ready(self) -> None:
        from shequ.core import schedule
        from shequ.core.nav import NavEntry, register
        from shequ.points import permissions as P
        from shequ.points.jobs import expire_points_job

        register(
            # 公益服务: tasks and volunteering
            NavEntry("welfare", _("任务广场"), "points:tasks", perm=P.PARTICIPATE, order=10),
            NavEntry("welfare", _("我的任务"), "points:my-tasks", perm=P.PARTICIPATE, order=11),
            NavEntry("welfare", _("我的积分"), "points:me", perm=P.PARTICIPATE, order=12),
            NavEntry("welfare", _("发起求助"), "points:help-new", perm=P.PARTICIPATE, order=13),
            NavEntry(
                "welfare", _("任务管理"), "points:manage-tasks", perm=P.MANAGE_TASKS, order=20
            ),
            NavEntry("welfare", _("志愿星级"), "points:recognition", perm=P.RECOGNITION, order=25),
            NavEntry("welfare", _("积分报表"), "points:reports", perm=P.REPORTS, order=26),
            # 商务服务: the store and partner merchants
            NavEntry("commerce", _("爱心超市"), "points:store", perm=P.PARTICIPATE, order=10),
            NavEntry("commerce", _("我的订单"), "points:orders", perm=P.PARTICIPATE, order=11),
            NavEntry(
                "commerce", _("超市管理"), "points:manage-store", perm=P.MANAGE_STORE, order=20
            ),
            NavEntry(
                "commerce",
                _("商户结算"),
                "points:manage-merchants",
                perm=P.MANAGE_MERCHANTS,
                order=21,
            ),
            NavEntry("commerce", _("商户收银"), "points:till", perm=P.MERCHANT_TILL, order=22),
        )
        schedule.register("points.expire", expire_points_job, every=timedelta(days=1))
