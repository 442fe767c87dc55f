"""Shared kernel tables: the audit log, idempotency records, cache version stamps, and the tables
of the shared mechanisms — check-in codes (core/checkin.py), registrations with capacity and a
waitlist (core/registrations.py), the working calendar's local overrides (CalendarDay,
core/calendar.py) and the deadline clocks (Deadline, core/deadlines.py)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an append-only row."""


class AppendOnlyQuerySet(models.QuerySet):
    """No bulk update or delete: rows of these tables are written once."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")


class AppendOnlyModel(models.Model):
    """Rows written once: saving an existing row or deleting one raises AppendOnlyError.

    The ORM guard; each table also gets database triggers in its app's migrations."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


class AuditQuerySet(AppendOnlyQuerySet):
    def purge_before(self, cutoff) -> int:
        """Retention: delete rows older than `cutoff` (the only deletion path)."""
        return models.QuerySet.delete(self.filter(at__lt=cutoff))[0]


class AuditEvent(AppendOnlyModel):
    """One audited action: who did what to which object, when, why and from where.

    Append-only: no update or delete path in the ORM; database triggers refuse UPDATE (and, on
    PostgreSQL, DELETE of rows younger than the retention period).
    """

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    region_code = models.CharField(_("区域代码"), max_length=15, blank=True, db_index=True)
    reason = models.TextField(_("理由"), blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    details = models.JSONField(_("详情"), default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"


class IdempotencyRecord(models.Model):
    """A creating request seen with an Idempotency-Key, and the response it got."""

    client = models.CharField(max_length=64)  # hash of the caller's credential
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)  # sha256 of the request body
    status_code = models.PositiveSmallIntegerField(default=0)  # 0 = in progress
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class VersionStamp(models.Model):
    """A named counter bumped when cached data (e.g. the grid index) must be rebuilt."""

    name = models.CharField(max_length=64, primary_key=True)
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


# The working calendar and the deadline clocks (core/calendar.py, core/deadlines.py) ------------


class LimitUnit(models.TextChoices):
    """Units of a time limit on the working calendar (shequ/core/calendar.py). Imported from
    shequ.core.deadlines (and, for the closed loop, shequ.cases.workflow)."""

    WORK_HOURS = "work_hours", _("工作时")
    WORK_DAYS = "work_days", _("工作日")
    HOURS = "hours", _("自然小时")


class CalendarDay(models.Model):
    """A local override of the official calendar: this date is (or is not) a working day.

    Moved from the cases app; the table keeps its name, so existing rows stay."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        db_table = "cases_calendarday"
        verbose_name = _("工作日历调整")
        verbose_name_plural = _("工作日历调整")
        ordering = ["-date"]

    def __str__(self) -> str:
        kind = _("上班") if self.is_workday else _("休息")
        return f"{self.date:%Y-%m-%d} {kind}"


class DeadlineState(models.TextChoices):
    RUNNING = "running", _("计时中")
    PAUSED = "paused", _("已暂停")
    MET = "met", _("已办结")
    CANCELLED = "cancelled", _("已取消")


class DeadlineLevel(models.TextChoices):
    GREEN = "green", _("正常")
    YELLOW = "yellow", _("即将超期")
    RED = "red", _("已超期")


OPEN_DEADLINE_STATES = (DeadlineState.RUNNING, DeadlineState.PAUSED)


class Deadline(models.Model):
    """A clock for any object (a follow-up, a visit, an alarm, an application, an action item):
    due by `amount` `unit`s on the working calendar, yellow at `warn_ratio` of the time, red when
    overdue, then up an escalation ladder (data: a list of rungs). Pausing (补正, 挂起) stops it;
    resuming pushes the due time by the paused time on the deadline's own clock.

    Written only by the services of shequ/core/deadlines.py, which also documents the ladder.
    """

    subject_type = models.CharField(_("对象类型"), max_length=64)  # "app.model"
    subject_id = models.CharField(_("对象编号"), max_length=64)
    kind = models.CharField(_("时限类型"), max_length=64)
    region_code = models.CharField(_("区域代码"), max_length=15, blank=True)
    amount = models.FloatField(_("时限"))
    unit = models.CharField(_("时限单位"), max_length=12, choices=LimitUnit.choices)
    warn_ratio = models.FloatField(_("预警比例"), default=0.8)
    started_at = models.DateTimeField(_("开始时间"))
    warn_at = models.DateTimeField(_("预警时间"))
    due_at = models.DateTimeField(_("到期时间"))
    state = models.CharField(
        _("状态"), max_length=12, choices=DeadlineState.choices, default=DeadlineState.RUNNING
    )
    level = models.CharField(
        _("时限状态"), max_length=8, choices=DeadlineLevel.choices, default=DeadlineLevel.GREEN
    )
    paused_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    paused_seconds = models.PositiveBigIntegerField(_("累计暂停（秒）"), default=0)
    pauses = models.PositiveIntegerField(_("暂停次数"), default=0)
    ladder = models.JSONField(_("升级阶梯"), default=list, blank=True)
    rung = models.PositiveSmallIntegerField(_("已升级级数"), default=0)
    next_escalate_at = models.DateTimeField(_("下次升级时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "kind"],
                condition=models.Q(state__in=["running", "paused"]),
                name="deadline_one_open_per_subject_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(due_at__gte=models.F("started_at")),
                name="deadline_due_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(warn_at__gte=models.F("started_at"))
                & models.Q(warn_at__lte=models.F("due_at")),
                name="deadline_warn_within_limit",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["running", "paused", "met", "cancelled"]),
                name="deadline_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=["green", "yellow", "red"]),
                name="deadline_level_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(unit__in=["work_hours", "work_days", "hours"]),
                name="deadline_unit_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0) & models.Q(warn_ratio__gt=0, warn_ratio__lte=1),
                name="deadline_amount_and_ratio_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(state="paused", paused_at__isnull=False)
                | (~models.Q(state="paused") & models.Q(paused_at__isnull=True)),
                name="deadline_paused_at_iff_paused",
            ),
        ]
        indexes = [
            # The sweep's three scans read only running clocks (small partial indexes).
            models.Index(
                fields=["warn_at"],
                condition=models.Q(state="running", level="green"),
                name="deadline_sweep_warn",
            ),
            models.Index(
                fields=["due_at"],
                condition=models.Q(state="running", level__in=["green", "yellow"]),
                name="deadline_sweep_due",
            ),
            models.Index(
                fields=["next_escalate_at"],
                condition=models.Q(state="running", next_escalate_at__isnull=False),
                name="deadline_sweep_escalate",
            ),
            # Lists of open clocks by place (prefix) and the subject's own lookup.
            models.Index(
                fields=["region_code", "due_at"],
                condition=models.Q(state__in=["running", "paused"]),
                name="deadline_open_region",
            ),
            models.Index(fields=["subject_type", "subject_id"], name="deadline_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}#{self.subject_id} {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_DEADLINE_STATES

    @property
    def escalation_level(self) -> str:
        """The ladder level reached (the last rung climbed), "" before the first."""
        if not self.rung or self.rung > len(self.ladder or []):
            return ""
        return str(self.ladder[self.rung - 1].get("level", ""))

    @property
    def met_late(self) -> bool | None:
        if self.state != DeadlineState.MET or self.finished_at is None:
            return None
        return self.finished_at > self.due_at


# Check-in codes (core/checkin.py) ---------------------------------------------------------------


class CheckinPurpose(models.TextChoices):
    CHECKIN = "checkin", _("签到")
    CHECKOUT = "checkout", _("签退")


class CheckinCode(models.Model):
    """The on-site code of one subject (a task, a meeting, a patrol checkpoint…) for one purpose.

    The subject is named by its model label ("points.task") and primary key. One code per
    (subject, purpose), and the two purposes of a subject never share a code — both in the
    database."""

    subject_type = models.CharField(_("对象类型"), max_length=64)
    subject_id = models.PositiveBigIntegerField(_("对象编号"))
    purpose = models.CharField(_("用途"), max_length=8, choices=CheckinPurpose.choices)
    code = models.CharField(_("验证码"), max_length=12)
    valid_from = models.DateTimeField(_("生效时间"), null=True, blank=True)
    valid_until = models.DateTimeField(_("失效时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    rotated_at = models.DateTimeField(_("更换时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("签到码")
        verbose_name_plural = _("签到码")
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "purpose"],
                name="checkin_code_one_per_purpose",
            ),
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "code"], name="checkin_code_distinct_purposes"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=CheckinPurpose.values), name="checkin_code_purpose_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="checkin_code_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id} {self.purpose}"


class CheckinCodeFailure(models.Model):
    """Wrong guesses of one code by one user; written with core.durable so that no rollback of
    the request undoes the count."""

    checkin_code = models.ForeignKey(
        CheckinCode, verbose_name=_("签到码"), on_delete=models.CASCADE, related_name="failures"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    failures = models.PositiveSmallIntegerField(_("错误次数"), default=0)

    class Meta:
        verbose_name = _("签到码错误次数")
        verbose_name_plural = _("签到码错误次数")
        constraints = [
            models.UniqueConstraint(
                fields=["checkin_code", "user"], name="checkin_failure_one_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checkin_code} {self.user_id}: {self.failures}"


# Registrations (core/registrations.py) ----------------------------------------------------------


class RegistrationStatus(models.TextChoices):
    REGISTERED = "registered", _("已报名")
    WAITLISTED = "waitlisted", _("候补中")
    CANCELLED = "cancelled", _("已取消")
    ATTENDED = "attended", _("已到场")
    NO_SHOW = "no_show", _("未到场")


# Statuses that hold one of the roster's places (counted in registered_count).
PLACE_STATUSES = (
    RegistrationStatus.REGISTERED,
    RegistrationStatus.ATTENDED,
    RegistrationStatus.NO_SHOW,
)
# Statuses of a live registration: at most one per (roster, person).
ACTIVE_REGISTRATION_STATUSES = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)


class Roster(models.Model):
    """The places of one subject (a meeting, an activity, a desk's time slot): a capacity, an
    optional waitlist and an optional registration window. `registered_count` counts the
    registrations holding a place (registered, attended, no-show) and never passes the capacity
    — a check constraint, kept by the services under a row lock."""

    subject_type = models.CharField(_("对象类型"), max_length=64)
    subject_id = models.PositiveBigIntegerField(_("对象编号"))
    region_code = models.CharField(_("区域代码"), max_length=15, blank=True, db_index=True)
    capacity = models.PositiveIntegerField(_("名额"))
    waitlist = models.BooleanField(_("允许候补"), default=True)
    opens_at = models.DateTimeField(_("报名开始"), null=True, blank=True)
    closes_at = models.DateTimeField(_("报名截止"), null=True, blank=True)
    registered_count = models.PositiveIntegerField(_("已报名人数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("报名名单")
        verbose_name_plural = _("报名名单")
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id"], name="roster_one_per_subject"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=0), name="roster_capacity_nonneg"),
            models.CheckConstraint(
                condition=Q(registered_count__gte=0) & Q(registered_count__lte=F("capacity")),
                name="roster_registered_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=F("opens_at")),
                name="roster_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id} {self.registered_count}/{self.capacity}"

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.registered_count)


class Registration(models.Model):
    """One person's registration on a roster. One active (registered or waitlisted) registration
    per (roster, person) in the database; waitlisted ones are served in `position` order."""

    roster = models.ForeignKey(
        Roster, verbose_name=_("报名名单"), on_delete=models.PROTECT, related_name="registrations"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("报名人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(_("状态"), max_length=12, choices=RegistrationStatus.choices)
    registered_at = models.DateTimeField(_("报名时间"), default=timezone.now)
    position = models.PositiveIntegerField(_("候补顺序"), null=True, blank=True)
    promoted_at = models.DateTimeField(_("候补转正时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    marked_at = models.DateTimeField(_("签到标记时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        ordering = ["roster", "registered_at", "id"]
        indexes = [models.Index(fields=["roster", "status", "position"], name="registration_queue")]
        constraints = [
            models.UniqueConstraint(
                fields=["roster", "user"],
                condition=Q(status__in=ACTIVE_REGISTRATION_STATUSES),
                name="registration_one_active_per_person",
            ),
            models.UniqueConstraint(
                fields=["roster", "position"],
                condition=Q(status=RegistrationStatus.WAITLISTED),
                name="registration_waitlist_position_unique",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RegistrationStatus.values), name="registration_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=RegistrationStatus.WAITLISTED) | Q(position__isnull=False),
                name="registration_waitlisted_has_position",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.roster} {self.user_id} {self.status}"
