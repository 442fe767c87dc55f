"""Claims of a task (shequ.points.services.tasks): claim within the quota, withdraw, on-site
check-in and check-out with the task's codes, and the two ways to be credited — 信用 confirmed
by staff or the beneficiary, 荣誉 granted by staff — through participation credit."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.actors import AnyUser, User
from shequ.core.checkin import checkin_code_verify
from shequ.core.errors import InvalidInput, PermissionDeniedError
from shequ.core.models import CheckinPurpose
from shequ.core.scoping import has_perm, require_perm
from shequ.people.models import Person
from shequ.points import clock, ledger
from shequ.points import permissions as P
from shequ.points.choices import (
    ACTIVE_CLAIM_STATUSES,
    OPEN_TASK_STATUSES,
    ClaimStatus,
    RecordType,
    TaskStatus,
)
from shequ.points.models import Claim, Task
from shequ.points.services.common import cas, check_text, require_person
from shequ.points.services.credit import CLAIM_SOURCE, check_hours, participation_credit
from shequ.points.services.tasks.lifecycle import is_owner, task_error


def _check_can_claim(actor: User, person: Person, task: Task, existing: Claim | None) -> None:
    if task.publisher_id == actor.pk or task.beneficiary_id == person.pk:
        raise task_error(_("不能认领自己发布的任务。"), "own_task")
    if not person.region_code.startswith(task.region_code[:12]):
        raise task_error(_("只能认领本社区的任务。"), "other_community")
    if existing is not None and existing.status != ClaimStatus.WITHDRAWN:
        raise task_error(_("您已认领过该任务。"), "already_claimed")
    if task.status == TaskStatus.FULL:
        raise task_error(_("该任务已满员。"), "task_full")
    if task.status != TaskStatus.PUBLISHED:
        raise task_error(_("该任务当前不接受报名。"), "task_closed")
    if task.ends_at <= clock.now():
        raise task_error(_("该任务已结束。"), "task_closed")


@transaction.atomic
def task_claim(*, actor: User, task: Task) -> Claim:
    """Claim a task: one claim per (task, person), never one's own task, within the quota."""
    person = require_person(actor)
    task.refresh_from_db()
    existing = Claim.objects.filter(task=task, person=person).first()
    _check_can_claim(actor, person, task, existing)
    taken = Task.objects.filter(
        pk=task.pk, status=TaskStatus.PUBLISHED, claims_count__lt=F("quota")
    ).update(claims_count=F("claims_count") + 1)
    if taken != 1:
        task.refresh_from_db()
        if task.status == TaskStatus.FULL or task.claims_count >= task.quota:
            raise task_error(_("该任务已满员。"), "task_full")
        raise task_error(_("该任务当前不接受报名。"), "task_closed")
    now = clock.now()
    if existing is not None:
        cas(
            Claim.objects.filter(pk=existing.pk, status=ClaimStatus.WITHDRAWN),
            status=ClaimStatus.CLAIMED,
            claimed_at=now,
        )
        claim = Claim.objects.get(pk=existing.pk)
    else:
        try:
            with transaction.atomic():
                claim = Claim.objects.create(
                    task=task,
                    person=person,
                    beneficiary=task.beneficiary,
                    region_code=person.region_code,
                    claimed_at=now,
                )
        except IntegrityError:
            raise task_error(_("您已认领过该任务。"), "already_claimed") from None
    Task.objects.filter(pk=task.pk, status=TaskStatus.PUBLISHED, claims_count=F("quota")).update(
        status=TaskStatus.FULL
    )
    return claim


@transaction.atomic
def claim_withdraw(*, actor: User, claim: Claim) -> Claim:
    person = require_person(actor)
    claim.refresh_from_db()
    if claim.person_id != person.pk:
        raise PermissionDeniedError(_("只能取消自己的报名。"), code="not_your_claim")
    if claim.task.status not in (TaskStatus.PUBLISHED, TaskStatus.FULL):
        raise task_error(_("任务已开始或已结束，不能取消报名。"), "task_started")
    cas(Claim.objects.filter(pk=claim.pk, status=ClaimStatus.CLAIMED), status=ClaimStatus.WITHDRAWN)
    Task.objects.filter(pk=claim.task_id).update(claims_count=F("claims_count") - 1)
    Task.objects.filter(pk=claim.task_id, status=TaskStatus.FULL).update(
        status=TaskStatus.PUBLISHED
    )
    claim.refresh_from_db()
    return claim


def claim_check(*, actor: User, task: Task, code: str) -> Claim:
    """On-site check-in (then check-out) with the code the publisher shows. The code, its
    window and the guess limit are core.checkin's (wrong_code, outside_window,
    too_many_code_failures)."""
    person = require_person(actor)
    task.refresh_from_db()
    claim = Claim.objects.filter(task=task, person=person).first()
    if claim is None or claim.status not in (ClaimStatus.CLAIMED, ClaimStatus.CHECKED_IN):
        raise task_error(_("您没有待签到或签退的报名。"), "no_active_claim")
    if task.status not in OPEN_TASK_STATUSES:
        raise task_error(_("该任务已结束。"), "task_closed")
    now = clock.now()
    checking_in = claim.status == ClaimStatus.CLAIMED
    checkin_code_verify(
        actor=actor,
        subject=task,
        purpose=CheckinPurpose.CHECKIN if checking_in else CheckinPurpose.CHECKOUT,
        code=code,
        now=now,
    )
    with transaction.atomic():
        if checking_in:
            cas(
                Claim.objects.filter(pk=claim.pk, status=ClaimStatus.CLAIMED),
                status=ClaimStatus.CHECKED_IN,
                checked_in_at=now,
            )
            Task.objects.filter(
                pk=task.pk, status__in=(TaskStatus.PUBLISHED, TaskStatus.FULL)
            ).update(status=TaskStatus.IN_PROGRESS)
        else:
            cas(
                Claim.objects.filter(pk=claim.pk, status=ClaimStatus.CHECKED_IN),
                status=ClaimStatus.CHECKED_OUT,
                checked_out_at=now,
            )
    claim.refresh_from_db()
    return claim


def served_hours(task: Task, checked_in_at: datetime, checked_out_at: datetime) -> Decimal:
    """Hours to credit for a check-in and check-out: the time between them rounded down to the
    configured unit, at least the configured minimum, never more than the task's hours."""
    unit = settings.SHEQU_POINTS_HOURS_UNIT_MINUTES
    minimum = settings.SHEQU_POINTS_HOURS_MINIMUM_MINUTES
    served = max(0, int((checked_out_at - checked_in_at).total_seconds() // 60))
    minutes = max(served // unit * unit, minimum)
    hours = (Decimal(minutes) / 60).quantize(Decimal("0.1"))
    return min(hours, task.hours_per_person)


def claim_confirm(*, actor: User, claim: Claim) -> Claim:
    """Confirm a completion (信用): staff after a verified check-in/out, or the beneficiary."""
    claim.refresh_from_db()
    task = claim.task
    by_beneficiary = is_owner(actor, task)
    allowed: tuple[ClaimStatus, ...]
    if by_beneficiary:
        allowed = ACTIVE_CLAIM_STATUSES
    else:
        require_perm(actor, P.CONFIRM, task.region_code)
        allowed = (ClaimStatus.CHECKED_OUT,)
    if claim.status == ClaimStatus.CONFIRMED:
        raise task_error(_("已确认过，积分不会重复发放。"), "already_confirmed")
    if claim.status not in allowed:
        raise task_error(
            _(
                "该志愿者尚未完成现场签到和签退，不能确认信用积分；如确有服务，可发放荣誉积分并说明理由。"
            ),
            "not_verified",
        )
    if claim.checked_in_at is not None and claim.checked_out_at is not None:
        hours = served_hours(task, claim.checked_in_at, claim.checked_out_at)
    else:  # the beneficiary confirms help given without the on-site codes
        hours = task.hours_per_person
    return _credit(
        actor=actor,
        claim=claim,
        allowed=allowed,
        record_type=RecordType.CREDIT,
        points=task.points_per_person,
        hours=hours,
        reason="",
    )


def claim_grant_honour(
    *,
    actor: User,
    claim: Claim,
    points: int | str,
    hours: Decimal | int | str,
    reason: str,
) -> Claim:
    """荣誉 points by staff: a reason, capped at the task's points and hours, audited."""
    claim.refresh_from_db()
    task = claim.task
    require_perm(actor, P.HONOUR, task.region_code)
    if clock.now() < task.starts_at:
        raise task_error(
            _("任务尚未开始，不能发放荣誉积分；请在任务开始后再核实发放。"), "task_not_started"
        )
    reason = check_text(reason, field="reason", label=_("理由"), max_length=200)
    points = ledger.check_amount(points, field="points")
    hours = check_hours(hours)
    if points > task.points_per_person or hours > task.hours_per_person:
        raise InvalidInput(
            _("荣誉积分和时长不能超过任务设定（每人 %(p)s 分、%(h)s 小时）。")
            % {"p": task.points_per_person, "h": task.hours_per_person},
            code="over_honour_cap",
            details={"points_cap": task.points_per_person, "hours_cap": str(task.hours_per_person)},
        )
    if claim.status == ClaimStatus.CONFIRMED:
        raise task_error(_("已确认过，积分不会重复发放。"), "already_confirmed")
    if claim.status not in ACTIVE_CLAIM_STATUSES:
        raise task_error(_("该报名不在可发放积分的状态。"), "claim_closed")
    return _credit(
        actor=actor,
        claim=claim,
        allowed=ACTIVE_CLAIM_STATUSES,
        record_type=RecordType.HONOUR,
        points=points,
        hours=hours,
        reason=reason,
    )


@transaction.atomic
def _credit(
    *,
    actor: User,
    claim: Claim,
    allowed: tuple[ClaimStatus, ...],
    record_type: str,
    points: int,
    hours: Decimal,
    reason: str,
) -> Claim:
    """Confirm the claim and credit it through participation credit (source "points.claim"),
    paid from the task's escrow."""
    task = Task.objects.get(pk=claim.task_id)
    if task.status not in OPEN_TASK_STATUSES:
        raise task_error(_("该任务已结束，不能再发放积分。"), "task_closed")
    now = clock.now()
    changed = Claim.objects.filter(pk=claim.pk, status__in=allowed).update(
        status=ClaimStatus.CONFIRMED, confirmed_at=now, confirmed_by=actor
    )
    if changed != 1:
        raise task_error(_("已确认过，积分不会重复发放。"), "already_confirmed")
    record = participation_credit(
        actor=actor,
        source_type=CLAIM_SOURCE,
        source_id=claim.pk,
        claim=claim,
        person=claim.person,
        title=task.title,
        points=points,
        hours=hours,
        point_kind=task.point_kind,
        reason=reason,
        record_type=record_type,
        funded_from=ledger.escrow_account(task),
        region_code=task.region_code,
        service_date=timezone.localtime(claim.checked_in_at or now).date(),
    )
    Claim.objects.filter(pk=claim.pk).update(
        record_type=record_type, points_awarded=record.points, hours_awarded=record.hours
    )
    claim.refresh_from_db()
    return claim


def can_confirm(user: AnyUser | None, task: Task) -> bool:
    return is_owner(user, task) or has_perm(user, P.CONFIRM, task.region_code)
