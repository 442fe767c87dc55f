"""红色物业: property companies (more — owners' committees, evaluations — comes with its issue)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PropertyCompany(models.Model):
    name = models.CharField(_("名称"), max_length=100, unique=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    service_phone = models.CharField(_("服务电话"), max_length=30, blank=True)
    region_code = models.CharField(
        _("登记区域代码"),
        max_length=15,
        blank=True,
        db_index=True,
        help_text=_("公司所在镇/街道或社区的区划代码，用于分级管理"),
    )
    is_synthetic = models.BooleanField(_("示例数据"), default=False)

    class Meta:
        verbose_name = _("物业公司")
        verbose_name_plural = _("物业公司")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
