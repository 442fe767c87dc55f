"""A task's life (shequ.points.services.tasks): create (staff from a pool, or a resident's 互助
request from their own balance), publish (escrow quota × points), cancel and complete (the
escrow left goes back). Also the two rules the claim services share: `task_error` and
`is_owner`."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from shequ.core.actors import AnyUser, User
from shequ.core.audit import audit_record
from shequ.core.checkin import checkin_codes_issue
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.models import CheckinPurpose
from shequ.core.regions import Level, level_of
from shequ.core.scoping import require_perm
from shequ.geo.models import Building
from shequ.people.models import Person
from shequ.points import clock, ledger
from shequ.points import permissions as P
from shequ.points.choices import (
    ACTIVE_CLAIM_STATUSES,
    OPEN_TASK_STATUSES,
    AccountKind,
    ClaimStatus,
    PointKind,
    TaskCategory,
    TaskKind,
    TaskStatus,
    TransferKind,
)
from shequ.points.models import Account, Task
from shequ.points.services.common import cas, check_text, require_person, rules_for
from shequ.points.services.credit import check_hours

CHECKIN_EARLY = timedelta(hours=1)  # check-in opens an hour before the start
CHECKOUT_LATE = timedelta(hours=3)  # check-out closes three hours after the end
MAX_QUOTA = 500


def task_error(message: str, code: str) -> ConflictError:
    return ConflictError(message, code=code)


def is_owner(actor: AnyUser | None, task: Task) -> bool:
    """The resident who asked for help (or the beneficiary of a wish)."""
    beneficiary = task.beneficiary
    if beneficiary is None or actor is None:
        return False
    return beneficiary.user_id is not None and beneficiary.user_id == actor.pk


def _validate_window(
    starts_at: datetime | None, ends_at: datetime | None
) -> tuple[datetime, datetime]:
    if starts_at is None or ends_at is None:
        raise InvalidInput(_("请填写开始和结束时间。"), code="invalid_window")
    if ends_at <= starts_at:
        raise InvalidInput(
            _("结束时间必须晚于开始时间。"), code="invalid_window", details={"field": "ends_at"}
        )
    if ends_at <= clock.now():
        raise InvalidInput(
            _("结束时间已过，不能发布。"), code="invalid_window", details={"field": "ends_at"}
        )
    if ends_at - starts_at > timedelta(days=31):
        raise InvalidInput(_("任务时间跨度不能超过31天。"), code="invalid_window")
    return starts_at, ends_at


def _issue_codes(task: Task) -> None:
    """The task's check-in and check-out codes (core.checkin, which keeps them distinct): check-in
    from an hour before the start to the end, check-out until three hours after the end."""
    opens = task.starts_at - CHECKIN_EARLY
    checkin_codes_issue(
        task, purposes=[CheckinPurpose.CHECKIN], valid_from=opens, valid_until=task.ends_at
    )
    checkin_codes_issue(
        task,
        purposes=[CheckinPurpose.CHECKOUT],
        valid_from=opens,
        valid_until=task.ends_at + CHECKOUT_LATE,
    )


def _validate_common(
    *,
    title: str,
    category: str,
    quota: int | str,
    points: int | str,
    hours: Decimal | int | str,
    point_kind: str,
    region_code: str,
) -> tuple[str, int, int, Decimal]:
    title = check_text(title, field="title", label=_("标题"), max_length=100)
    if category not in TaskCategory.values:
        raise InvalidInput(_("请选择任务类别。"), code="invalid_category")
    if point_kind not in PointKind.values:
        raise InvalidInput(_("积分类型无效。"), code="invalid_point_kind")
    quota = ledger.check_amount(quota, field="quota")
    if quota > MAX_QUOTA:
        raise InvalidInput(_("招募人数不能超过%(n)s人。") % {"n": MAX_QUOTA}, code="invalid_quota")
    points = ledger.check_amount(points, field="points_per_person")
    cap = rules_for(region_code).per_task_cap
    if points > cap:
        raise InvalidInput(
            _("每人积分不能超过单个任务上限 %(cap)s 分。") % {"cap": cap},
            code="over_task_cap",
            details={"field": "points_per_person", "cap": cap},
        )
    return title, quota, points, check_hours(hours, field="hours_per_person")


@transaction.atomic
def task_create(
    *,
    actor: User,
    kind: str,
    title: str,
    category: str,
    region_code: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    quota: int | str,
    points_per_person: int | str,
    hours_per_person: Decimal | int | str = 0,
    point_kind: str = PointKind.VOLUNTEER,
    description: str = "",
    address: str = "",
    building: Building | None = None,
    lat: float | None = None,
    lng: float | None = None,
    funding_account: Account | None = None,
    beneficiary: Person | None = None,
    publish: bool = False,
) -> Task:
    """Staff create a 微心愿 or 志愿任务 funded from a pool (optionally publishing it at once)."""
    if kind not in (TaskKind.WISH, TaskKind.VOLUNTEER):
        raise InvalidInput(_("任务类型无效。"), code="invalid_kind")
    if level_of(region_code) not in (Level.COMMUNITY, Level.GRID):
        raise InvalidInput(
            _("任务地点应为社区或网格。"), code="invalid_region", details={"field": "region_code"}
        )
    require_perm(actor, P.MANAGE_TASKS, region_code)
    title, quota, points, hours = _validate_common(
        title=title,
        category=category,
        quota=quota,
        points=points_per_person,
        hours=hours_per_person,
        point_kind=point_kind,
        region_code=region_code,
    )
    starts_at, ends_at = _validate_window(starts_at, ends_at)
    if funding_account is None:
        funding_account = ledger.pool_account(region_code[:12], point_kind)
    if (
        funding_account.kind != AccountKind.POOL
        or not region_code.startswith(funding_account.region_code)
        or funding_account.point_kind != point_kind
    ):
        raise InvalidInput(
            _("积分来源应为任务所在社区或镇/街道的积分池（积分类型一致）。"),
            code="invalid_funding",
        )
    if building is not None and not building.region_code.startswith(region_code):
        raise InvalidInput(_("楼栋不在任务所在区域内。"), code="invalid_building")
    task = Task.objects.create(
        kind=kind,
        title=title,
        category=category,
        description=check_text(
            description, field="description", label=_("内容"), max_length=2000, required=False
        ),
        region_code=building.region_code if building is not None else region_code,
        building=building,
        address=check_text(
            address, field="address", label=_("地点"), max_length=200, required=False
        ),
        lat=lat,
        lng=lng,
        starts_at=starts_at,
        ends_at=ends_at,
        quota=quota,
        point_kind=point_kind,
        points_per_person=points,
        hours_per_person=hours,
        funding_account=funding_account,
        publisher=actor,
        beneficiary=beneficiary,
        created_at=clock.now(),
    )
    _issue_codes(task)
    audit_record(actor=actor, action="points.task_create", obj=task)
    if publish:
        task_publish(actor=actor, task=task)
        task.refresh_from_db()
    return task


@transaction.atomic
def help_request_create(
    *,
    actor: User,
    title: str,
    category: str = TaskCategory.NEIGHBOUR,
    description: str = "",
    address: str = "",
    starts_at: datetime | None,
    ends_at: datetime | None,
    points: int | str,
    hours: Decimal | int | str = 0,
    quota: int | str = 1,
) -> Task:
    """A resident asks for help (互助): the reward is escrowed from their own balance."""
    person = require_person(actor)
    title, quota, points, hours = _validate_common(
        title=title,
        category=category,
        quota=quota,
        points=points,
        hours=hours,
        point_kind=PointKind.VOLUNTEER,
        region_code=person.region_code,
    )
    if quota > 5:
        raise InvalidInput(_("求助最多招募5人。"), code="invalid_quota")
    starts_at, ends_at = _validate_window(starts_at, ends_at)
    task = Task.objects.create(
        kind=TaskKind.HELP,
        title=title,
        category=category,
        description=check_text(
            description, field="description", label=_("内容"), max_length=2000, required=False
        ),
        region_code=person.region_code,
        address=check_text(
            address, field="address", label=_("地点"), max_length=200, required=False
        ),
        starts_at=starts_at,
        ends_at=ends_at,
        quota=quota,
        point_kind=PointKind.VOLUNTEER,
        points_per_person=points,
        hours_per_person=hours,
        funding_account=ledger.resident_account(person, PointKind.VOLUNTEER),
        publisher=actor,
        beneficiary=person,
        created_at=clock.now(),
    )
    _issue_codes(task)
    _publish(actor=actor, task=task)
    task.refresh_from_db()
    return task


def _require_manage(actor: User, task: Task, perm: str = P.MANAGE_TASKS) -> None:
    if task.kind == TaskKind.HELP and is_owner(actor, task):
        return
    require_perm(actor, perm, task.region_code)


@transaction.atomic
def task_publish(*, actor: User, task: Task) -> Task:
    _require_manage(actor, task)
    if task.ends_at <= clock.now():
        raise task_error(_("任务结束时间已过，不能发布。"), "task_expired")
    return _publish(actor=actor, task=task)


def _publish(*, actor: User, task: Task) -> Task:
    if (
        Task.objects.filter(pk=task.pk, status=TaskStatus.DRAFT).update(
            status=TaskStatus.PUBLISHED, published_at=clock.now()
        )
        != 1
    ):
        raise task_error(_("只有草稿可以发布。"), "not_draft")
    escrow = ledger.escrow_account(task)
    ledger.transfer_post(
        key=f"task:{task.pk}:escrow",
        kind=TransferKind.ESCROW,
        reason=_("任务积分托管：%(title)s") % {"title": task.title},
        legs=[(task.funding_account, -task.escrow_total), (escrow, task.escrow_total)],
        actor=actor,
        region_code=task.region_code,
    )
    audit_record(actor=actor, action="points.task_publish", obj=task)
    return task


def _return_escrow(*, actor: User, task: Task, reason: str) -> int:
    escrow = ledger.escrow_account(task)
    locked = ledger.lock_accounts([escrow, task.funding_account])
    left = locked[escrow.pk].balance
    if left > 0:
        ledger.transfer_post(
            key=f"task:{task.pk}:return",
            kind=TransferKind.ESCROW_RETURN,
            reason=reason,
            legs=[(escrow, -left), (task.funding_account, left)],
            actor=actor,
            region_code=task.region_code,
        )
    return left


@transaction.atomic
def task_cancel(*, actor: User, task: Task, reason: str) -> Task:
    """Cancel (from draft to in progress); escrow goes back to where it came from."""
    task.refresh_from_db()
    _require_manage(actor, task)
    reason = check_text(reason, field="reason", label=_("取消原因"), max_length=200)
    if task.claims.filter(status=ClaimStatus.CONFIRMED).exists():
        raise task_error(
            _("已有志愿者获得积分，不能取消；请改为“完成任务”。"), "has_confirmed_claims"
        )
    old = task.status
    if old not in (TaskStatus.DRAFT, *OPEN_TASK_STATUSES):
        raise task_error(_("该任务已结束，不能取消。"), "task_closed")
    cas(
        Task.objects.filter(pk=task.pk, status=old),
        status=TaskStatus.CANCELLED,
        closed_at=clock.now(),
        cancel_reason=reason,
    )
    task.claims.filter(status__in=ACTIVE_CLAIM_STATUSES).update(status=ClaimStatus.TASK_CANCELLED)
    if old != TaskStatus.DRAFT:
        _return_escrow(
            actor=actor, task=task, reason=_("任务取消，托管积分退回：%(r)s") % {"r": reason}
        )
    audit_record(actor=actor, action="points.task_cancel", obj=task, reason=reason)
    task.refresh_from_db()
    return task


@transaction.atomic
def task_complete(*, actor: User, task: Task) -> Task:
    """Close a task: unconfirmed claims become 未完成, the escrow left goes back."""
    task.refresh_from_db()
    _require_manage(actor, task)
    if task.status not in OPEN_TASK_STATUSES:
        raise task_error(_("该任务不在可完成的状态。"), "task_closed")
    pending = task.claims.filter(status=ClaimStatus.CHECKED_OUT).count()
    if pending:
        raise task_error(
            _("还有 %(n)s 名志愿者已签退、待确认，请先确认。") % {"n": pending},
            "pending_confirmation",
        )
    cas(
        Task.objects.filter(pk=task.pk, status=task.status),
        status=TaskStatus.COMPLETED,
        closed_at=clock.now(),
    )
    task.claims.filter(status__in=ACTIVE_CLAIM_STATUSES).update(status=ClaimStatus.ABSENT)
    _return_escrow(actor=actor, task=task, reason=_("任务完成，剩余托管积分退回"))
    audit_record(actor=actor, action="points.task_complete", obj=task)
    task.refresh_from_db()
    return task
