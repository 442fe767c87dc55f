"""Points accounts and the double-entry ledger (Account, Transfer, Entry), the funding of
pools (FundingRecord) and the rules (PointsRule). Used through `shequ.points.models`.

Transfer and Entry are append-only: the ORM has no update or delete path for them and database
triggers refuse UPDATE (and DELETE on PostgreSQL). Balances live on Account, changed only by
`shequ.points.ledger.transfer_post` in the same transaction as the entries, with a check
constraint that keeps every balance but the issuer's ≥ 0. An account's owner (store, merchant,
task) is named by label, so this module imports none of the others.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.models import AppendOnlyModel
from shequ.points.choices import AccountKind, FunderKind, PointKind, TransferKind


class Account(models.Model):
    """A points account of one kind of points. Balances change only through the ledger."""

    kind = models.CharField(_("账户类型"), max_length=12, choices=AccountKind.choices)
    point_kind = models.CharField(_("积分类型"), max_length=12, choices=PointKind.choices)
    name = models.CharField(_("名称"), max_length=120)
    region_code = models.CharField(_("区域代码"), max_length=15, db_index=True)
    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("居民"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="points_accounts",
    )
    store = models.ForeignKey(
        "points.Store", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    merchant = models.ForeignKey(
        "points.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    task = models.OneToOneField(
        "points.Task",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="escrow_account",
    )
    balance = models.BigIntegerField(_("余额"), default=0)
    created_at = models.DateTimeField(_("开户时间"), default=timezone.now)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("积分账户")
        verbose_name_plural = _("积分账户")
        ordering = ["kind", "region_code", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=AccountKind.ISSUER) | Q(balance__gte=0),
                name="account_balance_non_negative",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=AccountKind.RESIDENT, person__isnull=False)
                    | Q(kind=AccountKind.STORE, store__isnull=False)
                    | Q(kind=AccountKind.MERCHANT, merchant__isnull=False)
                    | Q(kind=AccountKind.ESCROW, task__isnull=False)
                    | Q(kind__in=[AccountKind.POOL, AccountKind.ISSUER])
                ),
                name="account_owner_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["person", "point_kind"],
                condition=Q(kind=AccountKind.RESIDENT),
                name="account_one_per_resident_kind",
            ),
            models.UniqueConstraint(
                fields=["region_code", "point_kind"],
                condition=Q(kind=AccountKind.POOL),
                name="account_one_pool_per_region_kind",
            ),
            models.UniqueConstraint(
                fields=["store", "point_kind"],
                condition=Q(kind=AccountKind.STORE),
                name="account_one_per_store_kind",
            ),
            models.UniqueConstraint(
                fields=["merchant", "point_kind"],
                condition=Q(kind=AccountKind.MERCHANT),
                name="account_one_per_merchant_kind",
            ),
            models.UniqueConstraint(
                fields=["point_kind"],
                condition=Q(kind=AccountKind.ISSUER),
                name="account_one_issuer_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_point_kind_display()}）"


class Transfer(AppendOnlyModel):
    """One movement of points: entries summing to zero, a unique idempotency key, a reason."""

    key = models.CharField(_("幂等键"), max_length=200, unique=True)
    kind = models.CharField(_("类型"), max_length=24, choices=TransferKind.choices)
    point_kind = models.CharField(_("积分类型"), max_length=12, choices=PointKind.choices)
    amount = models.BigIntegerField(_("金额"))
    reason = models.CharField(_("事由"), max_length=300)
    region_code = models.CharField(_("区域代码"), max_length=15, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("积分转账")
        verbose_name_plural = _("积分转账")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="transfer_has_reason"),
            models.CheckConstraint(condition=~Q(key=""), name="transfer_has_key"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.amount}"


class Entry(AppendOnlyModel):
    """One leg of a transfer on one account; `balance_after` is the account's running balance."""

    transfer = models.ForeignKey(
        Transfer, verbose_name=_("转账"), on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("账户"), on_delete=models.PROTECT, related_name="entries"
    )
    amount = models.BigIntegerField(_("发生额"))
    balance_after = models.BigIntegerField(_("余额"))
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("分录")
        verbose_name_plural = _("分录")
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "id"], name="entry_account_id")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount:+d}"


class FundingRecord(models.Model):
    """Points put into a pool by the city, a township or a co-building unit (资金来源)."""

    pool = models.ForeignKey(
        Account, verbose_name=_("积分池"), on_delete=models.PROTECT, related_name="fundings"
    )
    funder_kind = models.CharField(_("资金来源类型"), max_length=12, choices=FunderKind.choices)
    funder_name = models.CharField(_("出资单位"), max_length=100)
    amount = models.PositiveIntegerField(_("积分"))
    yuan = models.DecimalField(
        _("对应资金（元）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    transfer = models.OneToOneField(
        Transfer, verbose_name=_("积分记账"), on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("区域代码"), max_length=15, db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("积分池注资")
        verbose_name_plural = _("积分池注资")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=1), name="funding_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.funder_name} → {self.pool} {self.amount}"


class PointsRule(models.Model):
    """Caps and expiry for a region; the most specific rule (longest code prefix) applies."""

    region_code = models.CharField(_("适用区域代码"), max_length=15, unique=True)
    daily_cap = models.PositiveIntegerField(_("每人每日积分上限"), default=60)
    per_task_cap = models.PositiveIntegerField(_("单个任务每人积分上限"), default=50)
    adjustment_cap = models.PositiveIntegerField(_("单次人工调整上限"), default=100)
    expiry_enabled = models.BooleanField(
        _("启用年度过期"),
        default=False,
        help_text=_("每年1月1日，上一年之前获得且未使用的积分退回积分池"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("积分规则")
        verbose_name_plural = _("积分规则")
        ordering = ["region_code"]
        constraints = [
            models.CheckConstraint(condition=Q(daily_cap__gte=1), name="rule_daily_cap_positive"),
            models.CheckConstraint(condition=Q(per_task_cap__gte=1), name="rule_task_cap_positive"),
        ]

    def __str__(self) -> str:
        return self.region_code
