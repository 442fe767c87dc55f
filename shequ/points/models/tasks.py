"""Tasks (微心愿 / 志愿任务 / 互助求助), their claims and the volunteer records
(志愿服务记录, append-only) that participation credit writes. Used through
`shequ.points.models`.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.checkin import checkin_code_for
from shequ.core.models import AppendOnlyModel, CheckinCodeFailure, CheckinPurpose
from shequ.points.choices import (
    ClaimStatus,
    PointKind,
    RecordType,
    TaskCategory,
    TaskKind,
    TaskStatus,
)


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
