"""The 爱心超市: stores, their items, stock-in (incl. donations, append-only) and redemption
orders. Used through `shequ.points.models`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.models import AppendOnlyModel
from shequ.points.choices import OrderStatus, PointKind, StockSource


class Store(models.Model):
    """A community's 爱心超市."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    region_code = models.CharField(_("所属社区代码"), max_length=15, db_index=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    opening_hours = models.CharField(_("开放时间"), max_length=100, blank=True)
    is_active = models.BooleanField(_("营业中"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("爱心超市")
        verbose_name_plural = _("爱心超市")
        ordering = ["region_code", "name"]

    def __str__(self) -> str:
        return self.name


class StoreItem(models.Model):
    store = models.ForeignKey(
        Store, verbose_name=_("爱心超市"), on_delete=models.PROTECT, related_name="items"
    )
    name = models.CharField(_("名称"), max_length=100)
    category = models.CharField(_("类别"), max_length=20, blank=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    price = models.PositiveIntegerField(_("兑换积分"))
    value_yuan = models.DecimalField(
        _("参考价值（元）"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    stock = models.IntegerField(_("库存"), default=0)
    monthly_limit = models.PositiveSmallIntegerField(_("每人每月限兑"), default=2)
    photo = models.ImageField(_("图片"), upload_to="points/items/", blank=True)
    is_active = models.BooleanField(_("上架"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("兑换物品")
        verbose_name_plural = _("兑换物品")
        ordering = ["price", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="item_stock_non_negative"),
            models.CheckConstraint(condition=Q(price__gte=1), name="item_price_positive"),
            models.CheckConstraint(
                condition=Q(monthly_limit__gte=1), name="item_monthly_limit_positive"
            ),
            models.UniqueConstraint(fields=["store", "name"], name="item_unique_name_per_store"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def region_code(self) -> str:
        return self.store.region_code


class StockIn(AppendOnlyModel):
    """入库: purchases and goods donated by co-building units (with the donor). Append-only."""

    item = models.ForeignKey(
        StoreItem, verbose_name=_("物品"), on_delete=models.PROTECT, related_name="stock_ins"
    )
    quantity = models.PositiveIntegerField(_("数量"))
    source = models.CharField(_("来源"), max_length=12, choices=StockSource.choices)
    donor = models.CharField(_("捐赠单位"), max_length=100, blank=True)
    unit_value = models.DecimalField(
        _("单价（元）"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    region_code = models.CharField(_("社区代码"), max_length=15, db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("入库时间"), default=timezone.now)

    class Meta:
        verbose_name = _("入库记录")
        verbose_name_plural = _("入库记录")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="stockin_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(source=StockSource.DONATION) | ~Q(donor=""),
                name="stockin_donation_has_donor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} +{self.quantity}"


class Order(models.Model):
    """A redemption: points paid, stock taken, a pickup code to show at the store."""

    store = models.ForeignKey(
        Store, verbose_name=_("爱心超市"), on_delete=models.PROTECT, related_name="orders"
    )
    item = models.ForeignKey(
        StoreItem, verbose_name=_("物品"), on_delete=models.PROTECT, related_name="orders"
    )
    person = models.ForeignKey(
        "people.Person", verbose_name=_("兑换人"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveSmallIntegerField(_("数量"), default=1)
    point_kind = models.CharField(_("积分类型"), max_length=12, choices=PointKind.choices)
    points = models.PositiveIntegerField(_("积分"))
    status = models.CharField(
        _("状态"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    pickup_code = models.CharField(_("取货码"), max_length=6)
    request_key = models.CharField(max_length=200, blank=True)
    region_code = models.CharField(_("社区代码"), max_length=15, db_index=True)
    created_at = models.DateTimeField(_("兑换时间"), default=timezone.now, db_index=True)
    picked_up_at = models.DateTimeField(_("领取时间"), null=True, blank=True)
    picked_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发放人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("取消人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("兑换订单")
        verbose_name_plural = _("兑换订单")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["person", "item", "created_at"], name="order_person_item_month"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(points__gte=1), name="order_points_positive"),
            models.UniqueConstraint(
                fields=["store", "pickup_code"],
                condition=Q(status=OrderStatus.PENDING),
                name="order_pickup_code_unique_pending",
            ),
            models.UniqueConstraint(
                fields=["person", "request_key"],
                condition=~Q(request_key=""),
                name="order_request_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} ×{self.quantity} · {self.person}"
