"""Partner merchants (商务服务): the merchant, a resident's single-use pay code, the payments
and the monthly settlements. Used through `shequ.points.models`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.points.choices import PayCodeStatus, PointKind
from shequ.points.models.accounts import Transfer


class Merchant(models.Model):
    """A partner merchant (商务服务) accepting points for discounts."""

    name = models.CharField(_("商户名称"), max_length=100, unique=True)
    category = models.CharField(_("类别"), max_length=40, blank=True)
    region_code = models.CharField(_("所在网格代码"), max_length=15, db_index=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    offer = models.CharField(_("优惠说明"), max_length=200, blank=True)
    yuan_per_point = models.DecimalField(
        _("每积分抵扣金额（元）"), max_digits=6, decimal_places=2, default="0.10"
    )
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收银员账号"),
        blank=True,
        related_name="points_merchants",
    )
    is_active = models.BooleanField(_("合作中"), default=True)
    created_at = models.DateTimeField(_("加入时间"), default=timezone.now)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("合作商户")
        verbose_name_plural = _("合作商户")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(yuan_per_point__gt=0), name="merchant_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PayCode(models.Model):
    """A resident's short-lived, single-use code that a merchant redeems."""

    person = models.ForeignKey(
        "people.Person", verbose_name=_("居民"), on_delete=models.PROTECT, related_name="+"
    )
    point_kind = models.CharField(
        _("积分类型"), max_length=12, choices=PointKind.choices, default=PointKind.VOLUNTEER
    )
    code = models.CharField(_("付款码"), max_length=8)
    status = models.CharField(
        _("状态"), max_length=8, choices=PayCodeStatus.choices, default=PayCodeStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("失效时间"))

    class Meta:
        verbose_name = _("积分付款码")
        verbose_name_plural = _("积分付款码")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(status=PayCodeStatus.ACTIVE),
                name="paycode_unique_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_status_display()}"


class MerchantPayment(models.Model):
    """A merchant redeemed a resident's code: points moved to the merchant's account."""

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("商户"), on_delete=models.PROTECT, related_name="payments"
    )
    person = models.ForeignKey(
        "people.Person", verbose_name=_("居民"), on_delete=models.PROTECT, related_name="+"
    )
    pay_code = models.OneToOneField(
        PayCode, verbose_name=_("付款码"), on_delete=models.PROTECT, related_name="payment"
    )
    points = models.PositiveIntegerField(_("积分"))
    point_kind = models.CharField(_("积分类型"), max_length=12, choices=PointKind.choices)
    yuan = models.DecimalField(_("抵扣金额（元）"), max_digits=10, decimal_places=2)
    description = models.CharField(_("消费说明"), max_length=200, blank=True)
    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(_("商户网格代码"), max_length=15, db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收银员"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("商户积分消费")
        verbose_name_plural = _("商户积分消费")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=1), name="payment_points_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant} {self.points}"


class MerchantSettlement(models.Model):
    """A merchant's monthly settlement: the month's points leave circulation for cash."""

    merchant = models.ForeignKey(
        Merchant, verbose_name=_("商户"), on_delete=models.PROTECT, related_name="settlements"
    )
    month = models.DateField(_("结算月份"))
    point_kind = models.CharField(_("积分类型"), max_length=12, choices=PointKind.choices)
    payments_count = models.PositiveIntegerField(_("笔数"))
    points = models.PositiveIntegerField(_("积分"))
    yuan = models.DecimalField(_("结算金额（元）"), max_digits=12, decimal_places=2)
    transfer = models.OneToOneField(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("商户网格代码"), max_length=15, db_index=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结算人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("结算时间"), default=timezone.now)

    class Meta:
        verbose_name = _("商户月结")
        verbose_name_plural = _("商户月结")
        ordering = ["-month", "merchant"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "month", "point_kind"], name="settlement_once_per_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant} {self.month:%Y-%m}"
