"""The closed loop's tables: categories with their SLA, cases, the timeline, evidence, ratings.

A case carries `region_code` = the code of the grid it lies in (the scoping field), the unit that
handles it (`handler_type` + `handler_unit_code` or `handler_company`), and the clock of the
step now running (`step_*`), which the SLA sweep reads through small partial indexes.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.cases.workflow import (
    OPEN_STATUSES,
    Action,
    Channel,
    HandlerType,
    LimitUnit,
    PhotoKind,
    Priority,
    RatingSource,
    Satisfaction,
    SlaLevel,
    Status,
    Step,
)
from shequ.core.crypto import EncryptedTextField
from shequ.core.masking import mask_name, mask_phone
from shequ.core.models import AppendOnlyModel

CONTACT_PHONE_CONTEXT = "cases.case.contact_phone"
DESCRIPTION_ORIGINAL_CONTEXT = "cases.case.description_original"
LADDER_LEVELS = ("grid", "property", "community", "township", "city")
OPEN = sorted(s.value for s in OPEN_STATUSES)  # sorted: a stable migration


def validate_ladder(value: str) -> None:
    levels = [part.strip() for part in value.split(",") if part.strip()]
    if not levels or any(level not in LADDER_LEVELS for level in levels):
        raise ValidationError(
            _("升级阶梯应为以逗号分隔的层级：grid、property、community、township、city。")
        )
    if len(set(levels)) != len(levels):
        raise ValidationError(_("升级阶梯中的层级不能重复。"))


class Category(models.Model):
    """A problem category (大类 when `parent` is empty, 小类 otherwise) and its service levels."""

    code = models.CharField(_("类别代码"), max_length=8, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("大类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    description = models.CharField(_("说明"), max_length=300, blank=True)
    keywords = models.CharField(_("关键词"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    handler_type = models.CharField(
        _("处置主体"), max_length=16, choices=HandlerType.choices, default=HandlerType.GRID
    )
    priority = models.CharField(
        _("默认紧急程度"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    photo_required = models.BooleanField(_("必须上传照片"), default=False)
    auto_dispatch = models.BooleanField(
        _("自动立案派遣"),
        default=True,
        help_text=_("定位明确时由系统直接立案并派遣给处置主体；否则由社区立案、派遣"),
    )

    register_limit = models.PositiveSmallIntegerField(_("立案时限"), default=2)
    register_unit = models.CharField(
        _("立案时限单位"), max_length=12, choices=LimitUnit.choices, default=LimitUnit.WORK_HOURS
    )
    dispatch_limit = models.PositiveSmallIntegerField(_("派遣时限"), default=2)
    dispatch_unit = models.CharField(
        _("派遣时限单位"), max_length=12, choices=LimitUnit.choices, default=LimitUnit.WORK_HOURS
    )
    handle_limit = models.PositiveSmallIntegerField(_("处置时限"), default=3)
    handle_unit = models.CharField(
        _("处置时限单位"), max_length=12, choices=LimitUnit.choices, default=LimitUnit.WORK_DAYS
    )
    verify_limit = models.PositiveSmallIntegerField(_("核查时限"), default=1)
    verify_unit = models.CharField(
        _("核查时限单位"), max_length=12, choices=LimitUnit.choices, default=LimitUnit.WORK_DAYS
    )
    escalation_grace = models.PositiveSmallIntegerField(
        _("超期升级宽限"), default=4, help_text=_("超期多久后升级一级")
    )
    escalation_grace_unit = models.CharField(
        _("宽限单位"), max_length=12, choices=LimitUnit.choices, default=LimitUnit.WORK_HOURS
    )
    escalation_ladder = models.CharField(
        _("升级阶梯"),
        max_length=60,
        default="grid,community,township,city",
        validators=[validate_ladder],
        help_text=_("自下而上，以逗号分隔，如 grid,community,township,city"),
    )
    duplicate_radius_m = models.PositiveSmallIntegerField(
        _("疑似重复半径（米）"), default=50, validators=[MaxValueValidator(2000)]
    )
    duplicate_days = models.PositiveSmallIntegerField(
        _("疑似重复天数"), default=7, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )

    class Meta:
        verbose_name = _("问题类别")
        verbose_name_plural = _("问题类别")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    register_limit__gt=0,
                    dispatch_limit__gt=0,
                    handle_limit__gt=0,
                    verify_limit__gt=0,
                    escalation_grace__gt=0,
                ),
                name="category_limits_positive",
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")), name="category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def ladder(self) -> list[str]:
        return [part.strip() for part in self.escalation_ladder.split(",") if part.strip()]

    def limit(self, step: str) -> tuple[int, str]:
        """(amount, unit) of a step's time limit."""
        return getattr(self, f"{step}_limit"), getattr(self, f"{step}_unit")

    @property
    def full_name(self) -> str:
        return f"{self.parent.name} · {self.name}" if self.parent is not None else self.name


class AttributeType(models.TextChoices):
    """The datatypes of Open311 service definitions."""

    STRING = "string", _("短文本")
    NUMBER = "number", _("数字")
    DATETIME = "datetime", _("日期时间")
    TEXT = "text", _("长文本")
    SINGLE = "singlevaluelist", _("单选")
    MULTI = "multivaluelist", _("多选")


class CategoryAttribute(models.Model):
    """An extra field asked when reporting a category (Open311 service definition attribute)."""

    category = models.ForeignKey(
        Category, verbose_name=_("类别"), on_delete=models.CASCADE, related_name="attributes"
    )
    code = models.SlugField(_("代码"), max_length=40)
    name = models.CharField(_("名称"), max_length=60)
    datatype = models.CharField(_("类型"), max_length=20, choices=AttributeType.choices)
    required = models.BooleanField(_("必填"), default=False)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    values = models.JSONField(
        _("可选值"),
        default=list,
        blank=True,
        help_text=_('单选、多选的选项：[{"key": "a", "name": "…"}, …]'),
    )

    class Meta:
        verbose_name = _("类别附加字段")
        verbose_name_plural = _("类别附加字段")
        ordering = ["category", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="attribute_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.category.code}.{self.code}"

    @property
    def value_keys(self) -> list[str]:
        return [str(v.get("key")) for v in self.values or [] if isinstance(v, dict)]


class Case(models.Model):
    """A resident's problem (诉求/事件) travelling through the closed loop."""

    code = models.CharField(_("案件编号"), max_length=20, unique=True)
    category = models.ForeignKey(
        Category, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="cases"
    )
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices)
    source_ref = models.CharField(_("来源工单号"), max_length=64, blank=True)
    client = models.CharField(
        _("接入方"), max_length=100, blank=True, help_text=_("API 或 Open311 接入方的标识")
    )
    device_id = models.CharField(_("设备标识"), max_length=100, blank=True)
    media_url = models.URLField(_("外部图片链接"), max_length=500, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices)
    priority = models.CharField(_("紧急程度"), max_length=16, choices=Priority.choices)
    # Stored masked (numbers typed into it: shequ.core.masking.mask_free_text); when masking
    # changed it, the text as typed is in the encrypted vault beside it, revealed to staff with
    # a reason (services.case_reveal_description, audited).
    description = models.TextField(_("问题描述"))
    description_original = EncryptedTextField(
        _("问题描述原文"),
        blank=True,
        default="",
        db_default="",
        editable=False,
        context=DESCRIPTION_ORIGINAL_CONTEXT,
    )
    attributes = models.JSONField(_("附加信息"), default=dict, blank=True)

    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    address = models.CharField(_("地点"), max_length=200, blank=True)
    building = models.ForeignKey(
        "geo.Building",
        verbose_name=_("楼栋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    region_code = models.CharField(_("网格代码"), max_length=15)
    near_grids = models.JSONField(_("相邻网格"), default=list, blank=True)

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上报人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("联系电话"), blank=True, context=CONTACT_PHONE_CONTEXT)
    contact_phone_hash = models.CharField(max_length=64, blank=True, editable=False)

    handler_type = models.CharField(_("处置主体"), max_length=16, choices=HandlerType.choices)
    handler_unit_code = models.CharField(_("处置单位代码"), max_length=15, blank=True)
    handler_company = models.ForeignKey(
        "property.PropertyCompany",
        verbose_name=_("物业公司"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处置人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
    )
    escalation_level = models.PositiveSmallIntegerField(_("升级次数"), default=0)
    supervised = models.BooleanField(_("督办"), default=False)

    reported_at = models.DateTimeField(_("上报时间"), default=timezone.now)
    registered_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("接单时间"), null=True, blank=True)
    handled_at = models.DateTimeField(_("处置反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("处置期限"), null=True, blank=True)

    step = models.CharField(_("当前环节"), max_length=12, choices=Step.choices, blank=True)
    step_started_at = models.DateTimeField(_("环节开始"), null=True, blank=True)
    step_warn_at = models.DateTimeField(_("临期提醒时间"), null=True, blank=True)
    step_due_at = models.DateTimeField(_("环节期限"), null=True, blank=True)
    escalate_at = models.DateTimeField(_("升级时间"), null=True, blank=True)
    sla_level = models.CharField(
        _("时限状态"), max_length=8, choices=SlaLevel.choices, default=SlaLevel.GREEN
    )

    extension_requested = models.PositiveSmallIntegerField(_("申请延期"), null=True, blank=True)
    extension_reason = models.CharField(_("延期理由"), max_length=500, blank=True)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    handling_seconds = models.PositiveIntegerField(
        _("处置用时（工作秒）"), null=True, blank=True, help_text=_("派遣至处置反馈的工作时间")
    )
    satisfaction = models.CharField(
        _("满意度"), max_length=12, choices=Satisfaction.choices, blank=True
    )
    void_reason = models.CharField(_("作废理由"), max_length=500, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("合并至"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )
    follower_count = models.PositiveIntegerField(_("关注人数"), default=0)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "source_ref"],
                condition=~Q(source_ref=""),
                name="case_unique_source_ref",
            ),
            models.CheckConstraint(condition=Q(reopen_count__lte=1), name="case_reopen_once"),
            models.CheckConstraint(
                condition=Q(extension_requested__isnull=True) | Q(extension_requested__gt=0),
                name="case_extension_positive",
            ),
            models.CheckConstraint(
                condition=Q(handler_type=HandlerType.PROPERTY, handler_company__isnull=False)
                | (~Q(handler_type=HandlerType.PROPERTY) & Q(handler_company__isnull=True)),
                name="case_company_iff_property",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.CLOSED) | Q(closed_at__isnull=False),
                name="case_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.MERGED) | Q(merged_into__isnull=False),
                name="case_merged_has_target",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.VOIDED) | ~Q(void_reason=""),
                name="case_voided_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[Status.DISPATCHED, Status.ACCEPTED, Status.HANDLED])
                | Q(due_at__isnull=False),
                name="case_dispatched_has_due",
            ),
            models.CheckConstraint(
                condition=Q(lat__isnull=True)
                | Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180),
                name="case_coordinates_range",
            ),
            models.CheckConstraint(
                condition=Q(region_code__regex=r"^[0-9]{15}$"), name="case_region_is_grid"
            ),
        ]
        indexes = [
            # Scoping (prefix) + status; PostgreSQL needs the pattern opclass for LIKE 'x%'.
            models.Index(
                fields=["region_code", "status"],
                name="case_region_status",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
            # Inboxes: open cases of one handling unit, soonest due first.
            models.Index(
                fields=["handler_unit_code", "step_due_at"],
                name="case_unit_inbox",
                condition=Q(status__in=OPEN),
            ),
            models.Index(
                fields=["handler_company", "step_due_at"],
                name="case_company_inbox",
                condition=Q(status__in=OPEN, handler_company__isnull=False),
            ),
            # The SLA sweep: only cases whose clock runs are in these.
            # (A running clock is the only thing that sets these fields: the indexes hold only
            # the open cases, and a bare IS NOT NULL lets SQLite use them with bound values.)
            models.Index(
                fields=["step_warn_at"],
                name="case_sla_warn",
                condition=Q(step_warn_at__isnull=False),
            ),
            models.Index(
                fields=["step_due_at"],
                name="case_sla_due",
                condition=Q(step_due_at__isnull=False),
            ),
            models.Index(
                fields=["escalate_at"],
                name="case_sla_escalate",
                condition=Q(escalate_at__isnull=False),
            ),
            # Duplicates: open cases of a category reported recently.
            models.Index(
                fields=["category", "reported_at"],
                name="case_open_by_category",
                condition=Q(status__in=OPEN),
            ),
            # Indicators by period.
            models.Index(fields=["reported_at"], name="case_reported_at"),
            models.Index(fields=["registered_at"], name="case_registered_at"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.category.name if self.category_id else ''}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def masked_contact_name(self) -> str:
        return mask_name(self.contact_name)

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone)

    @property
    def description_is_masked(self) -> bool:
        """Numbers in the description were masked; the original is in the vault."""
        return bool(self.description_original)

    def ladder_position(self) -> tuple[int, int]:
        """(current rung, rungs) of the case on its category's escalation ladder."""
        ladder = self.category.ladder
        base = self.handler_type if self.handler_type in ladder else None
        start = ladder.index(base) if base else 0
        return start + self.escalation_level, len(ladder)

    def live_sla_level(self, now=None) -> str:
        """The colour now (the sweep stores it once a minute; pages show it live)."""
        now = now or timezone.now()
        if self.step_due_at is None:
            return SlaLevel.GREEN
        if now >= self.step_due_at:
            return SlaLevel.RED
        if self.step_warn_at is not None and now >= self.step_warn_at:
            return SlaLevel.YELLOW
        return SlaLevel.GREEN

    @property
    def closed_on_time(self) -> bool | None:
        if self.status != Status.CLOSED or self.due_at is None or self.handled_at is None:
            return None
        return self.handled_at <= self.due_at


class CaseEvent(AppendOnlyModel):
    """One immutable row of a case's timeline: who did what, from which status to which."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    action = models.CharField(_("操作"), max_length=24)
    from_status = models.CharField(_("原状态"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人名称"), max_length=100, blank=True)
    actor_role = models.CharField(_("操作人角色"), max_length=32, blank=True)
    note = models.TextField(_("说明"), blank=True)
    public = models.BooleanField(
        _("对上报人公开"), default=True, help_text=_("上报人、关注人和 Open311 可见")
    )
    data = models.JSONField(_("数据"), default=dict, blank=True)

    class Meta:
        verbose_name = _("案件流转记录")
        verbose_name_plural = _("案件流转记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_timeline")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    @property
    def action_label(self) -> str:
        try:
            return str(Action(self.action).label)
        except ValueError:
            return str(SYSTEM_EVENT_LABELS.get(self.action, self.action))


SYSTEM_EVENT_LABELS = {
    "sla_yellow": _("临期提醒"),
    "sla_red": _("超期（自动督办）"),
    "follow": _("关注"),
    "photo": _("补充照片"),
    "reject_extension": _("驳回延期"),
    "open311_update": _("接入方补充进展"),
}


class CasePhoto(models.Model):
    """A photo (evidence) of a case, stored privately and served by a permission-checked view."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="photos")
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="photos"
    )
    kind = models.CharField(_("类型"), max_length=10, choices=PhotoKind.choices)
    path = models.CharField(max_length=200)
    thumb_path = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("案件照片")
        verbose_name_plural = _("案件照片")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}/{self.pk} {self.kind}"


class CaseFollow(models.Model):
    """我也遇到: a resident follows an open case instead of filing a duplicate."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_cases"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("案件关注")
        verbose_name_plural = _("案件关注")
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="follow_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.case_id}"


class CaseRating(models.Model):
    """The reporter's rating after closure, or a staff 回访 result (one of each per round)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="ratings")
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=0)
    source = models.CharField(_("来源"), max_length=10, choices=RatingSource.choices)
    rating = models.CharField(_("满意度"), max_length=12, choices=Satisfaction.choices)
    comment = models.CharField(_("评价内容"), max_length=500, blank=True)
    contacted = models.BooleanField(_("已联系上"), default=True)
    resolved = models.BooleanField(_("问题已解决"), default=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("评价与回访")
        verbose_name_plural = _("评价与回访")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "round", "source"], name="rating_once_per_round"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.rating}"
