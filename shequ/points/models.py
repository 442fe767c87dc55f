"""互融互助 points platform: accounts and the double-entry ledger, tasks and claims, volunteer
records, the 爱心超市 store, partner merchants and the rules.

Ledger rows (Transfer, Entry) and volunteer records are append-only: the ORM has no update or
delete path for them and database triggers refuse UPDATE (and DELETE on PostgreSQL). Balances
live on Account, changed only by `shequ.points.ledger.transfer_post` in the same transaction as
the entries, with a check constraint that keeps every balance but the issuer's ≥ 0.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.checkin import checkin_code_for
from shequ.core.masking import mask_name
from shequ.core.models import AppendOnlyModel, CheckinCodeFailure, CheckinPurpose
from shequ.points.choices import (
    AccountKind,
    ClaimStatus,
    FunderKind,
    OrderStatus,
    PayCodeStatus,
    PointKind,
    RecordType,
    StockSource,
    TaskCategory,
    TaskKind,
    TaskStatus,
    TransferKind,
)

# ---------------------------------------------------------------------------------------------
# Stores and merchants (their accounts point at them)


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


# ---------------------------------------------------------------------------------------------
# Tasks


class Task(models.Model):
    """A 微心愿 / 志愿任务 published by staff from a pool, or a resident's 互助 request.

    Publishing moves quota × points from the funding account into the task's escrow account;
    confirmations pay out of escrow; completing or cancelling returns what is left.
    """

    kind = models.CharField(_("类型"), max_length=12, choices=TaskKind.choices)
    title = models.CharField(_("标题"), max_length=100)
    category = models.CharField(
        _("类别"), max_length=16, choices=TaskCategory.choices, default=TaskCategory.OTHER
    )
    description = models.TextField(_("内容"), blank=True)
    region_code = models.CharField(_("地点所在区域代码"), max_length=15, db_index=True)
    building = models.ForeignKey(
        "geo.Building",
        verbose_name=_("楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    address = models.CharField(_("地点"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    quota = models.PositiveIntegerField(_("招募人数"))
    point_kind = models.CharField(
        _("积分类型"), max_length=12, choices=PointKind.choices, default=PointKind.VOLUNTEER
    )
    points_per_person = models.PositiveIntegerField(_("每人积分"))
    hours_per_person = models.DecimalField(
        _("每人志愿时长（小时）"), max_digits=5, decimal_places=1, default=0
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.DRAFT
    )
    funding_account = models.ForeignKey(
        "points.Account",
        verbose_name=_("积分来源"),
        on_delete=models.PROTECT,
        related_name="funded_tasks",
    )
    publisher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    beneficiary = models.ForeignKey(
        "people.Person",
        verbose_name=_("受助人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("互助求助的发起人，或微心愿的心愿人；可确认完成"),
    )
    claims_count = models.PositiveIntegerField(_("报名人数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间（完成/取消）"), null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("任务")
        verbose_name_plural = _("任务")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["status", "region_code"], name="task_status_region")]
        constraints = [
            models.CheckConstraint(condition=Q(quota__gte=1), name="task_quota_positive"),
            models.CheckConstraint(
                condition=Q(points_per_person__gte=1), name="task_points_positive"
            ),
            models.CheckConstraint(
                condition=Q(hours_per_person__gte=0) & Q(hours_per_person__lte=24),
                name="task_hours_range",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="task_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(claims_count__lte=F("quota")), name="task_claims_within_quota"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def escrow_total(self) -> int:
        return self.quota * self.points_per_person

    @property
    def spots_left(self) -> int:
        return max(0, self.quota - self.claims_count)

    # The codes live in core.checkin (one query each); read here for the organiser's page.
    @property
    def checkin_code(self) -> str:
        code = checkin_code_for(self, CheckinPurpose.CHECKIN)
        return code.code if code is not None else ""

    @property
    def checkout_code(self) -> str:
        code = checkin_code_for(self, CheckinPurpose.CHECKOUT)
        return code.code if code is not None else ""


class Claim(models.Model):
    """One person's claim of a task: unique per (task, person) in the database."""

    task = models.ForeignKey(
        Task, verbose_name=_("任务"), on_delete=models.PROTECT, related_name="claims"
    )
    person = models.ForeignKey(
        "people.Person", verbose_name=_("志愿者"), on_delete=models.PROTECT, related_name="+"
    )
    # Copy of task.beneficiary so the database itself refuses a claim of one's own request.
    beneficiary = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("志愿者网格代码"), max_length=15, db_index=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.CLAIMED
    )
    claimed_at = models.DateTimeField(_("报名时间"), default=timezone.now)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    record_type = models.CharField(
        _("记录类型"), max_length=8, choices=RecordType.choices, blank=True
    )
    points_awarded = models.PositiveIntegerField(_("获得积分"), default=0)
    hours_awarded = models.DecimalField(
        _("志愿时长（小时）"), max_digits=5, decimal_places=1, default=0
    )

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("任务报名")
        verbose_name_plural = _("任务报名")
        ordering = ["claimed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "person"], name="claim_one_per_task_person"),
            models.CheckConstraint(
                condition=Q(beneficiary__isnull=True) | ~Q(person=F("beneficiary")),
                name="claim_not_own_task",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} · {self.person}"

    @property
    def code_failures(self) -> int:
        """Wrong check-in/check-out codes the volunteer typed for this task (core.checkin)."""
        user_id = self.person.user_id
        if user_id is None:  # no login, so no code typed
            return 0
        rows = CheckinCodeFailure.objects.filter(
            checkin_code__subject_type=Task._meta.label_lower,
            checkin_code__subject_id=self.task_id,
            user_id=user_id,
        )
        return sum(rows.values_list("failures", flat=True))


class VolunteerRecord(AppendOnlyModel):
    """志愿服务记录: one credited participation, with who recorded it (谁记录谁证明). Append-only.

    The one home of participation credit (`services.credit.participation_credit` writes every
    row): a volunteer task's claim today, meetings, activities, 三会一课 and care visits
    tomorrow. `source_type`/`source_id` name what was taken part in (a registered source type,
    e.g. "points.claim" with the claim's id); the database allows one record per
    (source, person). `claim` and `task` are set for the points platform's own tasks only.
    """

    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("志愿者"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_type = models.CharField(_("来源类型"), max_length=40)
    source_id = models.PositiveBigIntegerField(_("来源编号"))
    title = models.CharField(_("服务项目"), max_length=200)
    claim = models.OneToOneField(
        Claim,
        verbose_name=_("报名"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="record",
    )
    task = models.ForeignKey(
        Task, verbose_name=_("任务"), null=True, blank=True, on_delete=models.PROTECT
    )
    region_code = models.CharField(_("志愿者网格代码"), max_length=15, db_index=True)
    service_date = models.DateField(_("服务日期"))
    hours = models.DecimalField(_("志愿时长（小时）"), max_digits=5, decimal_places=1)
    points = models.PositiveIntegerField(_("积分"))
    point_kind = models.CharField(_("积分类型"), max_length=12, choices=PointKind.choices)
    record_type = models.CharField(_("记录类型"), max_length=8, choices=RecordType.choices)
    reason = models.CharField(_("荣誉积分理由"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorder_name = models.CharField(_("记录人姓名"), max_length=50)
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now, db_index=True)
    transfer = models.OneToOneField(
        "points.Transfer",
        verbose_name=_("积分记账"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    admin_scope_field = "region_code"

    class Meta:
        verbose_name = _("志愿服务记录")
        verbose_name_plural = _("志愿服务记录")
        ordering = ["-service_date", "-id"]
        indexes = [models.Index(fields=["person", "service_date"], name="record_person_date")]
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id", "person"], name="record_once_per_source_person"
            ),
            models.CheckConstraint(condition=~Q(source_type=""), name="record_has_source"),
            # A task claim's record names its claim: the claim's id is the source id.
            models.CheckConstraint(
                condition=(
                    Q(source_type="points.claim", claim__isnull=False, source_id=F("claim_id"))
                    | (~Q(source_type="points.claim") & Q(claim__isnull=True))
                ),
                name="record_claim_matches_source",
            ),
            models.CheckConstraint(
                condition=Q(hours__gte=0) & Q(hours__lte=24), name="record_hours_range"
            ),
            models.CheckConstraint(
                condition=Q(record_type="credit") | ~Q(reason=""),
                name="record_honour_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_date} {self.title} {self.hours}h"


# ---------------------------------------------------------------------------------------------
# Accounts and the ledger


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
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    task = models.OneToOneField(
        Task, null=True, blank=True, on_delete=models.PROTECT, related_name="escrow_account"
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


# ---------------------------------------------------------------------------------------------
# The store


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


# ---------------------------------------------------------------------------------------------
# Merchants


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


def masked(person) -> str:
    return mask_name(person.name) if person is not None else ""
