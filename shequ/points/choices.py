"""Choice lists of the points platform (stable code values, Chinese labels)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PointKind(models.TextChoices):
    """Two kinds of points live in the same ledger; a transfer moves one kind only."""

    VOLUNTEER = "volunteer", _("志愿积分")
    PARTY = "party", _("党员积分")


class AccountKind(models.TextChoices):
    RESIDENT = "resident", _("居民账户")
    POOL = "pool", _("积分池")
    STORE = "store", _("爱心超市")
    MERCHANT = "merchant", _("合作商户")
    ESCROW = "escrow", _("任务托管")
    # The counterpart of funding from outside the ledger (city, township, co-building units)
    # and of points that leave it (merchant settlement). Its balance is minus the points in
    # circulation, so it is the only account allowed below zero.
    ISSUER = "issuer", _("积分发行")


class TransferKind(models.TextChoices):
    FUNDING = "funding", _("资金注入")
    ALLOCATION = "allocation", _("积分池划拨")
    ESCROW = "escrow", _("任务托管")
    ESCROW_RETURN = "escrow_return", _("托管退回")
    REWARD = "reward", _("信用积分")
    HONOUR = "honour", _("荣誉积分")
    REDEMPTION = "redemption", _("爱心超市兑换")
    REDEMPTION_REFUND = "redemption_refund", _("兑换取消退回")
    MERCHANT_PAYMENT = "merchant_payment", _("商户消费")
    MERCHANT_SETTLEMENT = "merchant_settlement", _("商户结算")
    EXPIRY = "expiry", _("积分过期")
    ADJUSTMENT = "adjustment", _("人工调整")


class TaskKind(models.TextChoices):
    WISH = "wish", _("微心愿")
    VOLUNTEER = "volunteer", _("志愿任务")
    HELP = "help", _("互助求助")


class TaskCategory(models.TextChoices):
    CARE = "care", _("关爱帮扶")
    ENVIRONMENT = "environment", _("环境整治")
    CIVILITY = "civility", _("文明劝导")
    NEIGHBOUR = "neighbour", _("邻里互助")
    PATROL = "patrol", _("平安巡逻")
    CULTURE = "culture", _("文体活动")
    SERVICE = "service", _("便民服务")
    MEDIATION = "mediation", _("矛盾调解")
    OTHER = "other", _("其他")


class TaskStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("招募中")
    FULL = "full", _("已满员")
    IN_PROGRESS = "in_progress", _("进行中")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")


OPEN_TASK_STATUSES = (TaskStatus.PUBLISHED, TaskStatus.FULL, TaskStatus.IN_PROGRESS)


class ClaimStatus(models.TextChoices):
    CLAIMED = "claimed", _("已报名")
    CHECKED_IN = "checked_in", _("已签到")
    CHECKED_OUT = "checked_out", _("已签退，待确认")
    CONFIRMED = "confirmed", _("已确认")
    WITHDRAWN = "withdrawn", _("已取消报名")
    ABSENT = "absent", _("未完成")
    TASK_CANCELLED = "task_cancelled", _("任务已取消")


ACTIVE_CLAIM_STATUSES = (ClaimStatus.CLAIMED, ClaimStatus.CHECKED_IN, ClaimStatus.CHECKED_OUT)


class RecordType(models.TextChoices):
    """志愿汇 practice: 信用 only from verified attendance; 荣誉 granted by staff, capped."""

    CREDIT = "credit", _("信用")
    HONOUR = "honour", _("荣誉")


class FunderKind(models.TextChoices):
    CITY = "city", _("市级资金")
    TOWNSHIP = "township", _("镇/街道资金")
    PARTNER = "partner", _("共建单位")
    DONATION = "donation", _("社会捐赠")


class StockSource(models.TextChoices):
    PURCHASE = "purchase", _("采购")
    DONATION = "donation", _("共建单位捐赠")


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("待领取")
    PICKED_UP = "picked_up", _("已领取")
    CANCELLED = "cancelled", _("已取消")


class PayCodeStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    USED = "used", _("已使用")
    REVOKED = "revoked", _("已作废")
    EXPIRED = "expired", _("已过期")
