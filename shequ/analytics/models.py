"""Early warnings (预警) found by the periodic job; each links to its cases and can be
acknowledged once (who and when are kept, and the audit log has the event)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WarningKind(models.TextChoices):
    SPIKE = "spike", _("案件量异常升高")
    REPEAT = "repeat", _("同一地点反复发生")


class EarlyWarning(models.Model):
    kind = models.CharField(_("预警类型"), max_length=8, choices=WarningKind.choices)
    key = models.CharField(_("去重键"), max_length=80, unique=True)
    region_code = models.CharField(_("网格代码"), max_length=15)
    category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("问题类别"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    period_start = models.DateField(_("起始日期"))
    period_end = models.DateField(_("截止日期"))
    count = models.PositiveIntegerField(_("案件数"))
    baseline_mean = models.FloatField(_("前 8 周均值"), null=True, blank=True)
    baseline_sd = models.FloatField(_("前 8 周标准差"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    case_ids = models.JSONField(_("相关案件"), default=list)
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acknowledgement_note = models.CharField(_("确认说明"), max_length=500, blank=True)

    # Not a column: the grid's name, set by the cockpit's warning list.
    grid_name: str

    class Meta:
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        ordering = ["-period_end", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True)
                | Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False),
                name="warning_ack_has_actor",
            ),
            models.CheckConstraint(
                condition=~Q(kind="spike") | Q(category__isnull=False),
                name="warning_spike_has_category",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="warning_period"
            ),
            models.CheckConstraint(
                condition=Q(region_code__regex=r"^[0-9]{15}$"), name="warning_region_is_grid"
            ),
        ]
        indexes = [models.Index(fields=["region_code", "period_end"], name="warning_region")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.region_code} {self.period_start}"
