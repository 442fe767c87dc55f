"""The closed loop's states and the one table of allowed transitions.

    reported ─register→ registered ─dispatch→ dispatched ─accept→ accepted ─handle→ handled
        │                   │    ↑                  │  ↑              │ ↑           │   │
        └──────void─────────┘    └──────return──────┘  └──(re)dispatch┘ └──rework───┘   │
                                                                                     verify
    closed ←─────────────────────────────────────────────────────────────────────────┘
    closed ─reopen (reporter, within 7 days, once)→ dispatched

Actions whose target is None keep the status (extension, rating, supervision, escalation,
回访); their compare-and-set still checks the status they were allowed from.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

# Re-exported: the closed loop's time limits are in the deadline mechanism's units.
from shequ.core.deadlines import LimitUnit as LimitUnit


class Status(models.TextChoices):
    REPORTED = "reported", _("待立案")
    REGISTERED = "registered", _("待派遣")
    DISPATCHED = "dispatched", _("待接单")
    ACCEPTED = "accepted", _("处置中")
    HANDLED = "handled", _("待核查")
    CLOSED = "closed", _("已结案")
    VOIDED = "voided", _("已作废")
    MERGED = "merged", _("已合并")


OPEN_STATUSES = frozenset(
    {Status.REPORTED, Status.REGISTERED, Status.DISPATCHED, Status.ACCEPTED, Status.HANDLED}
)
# Statuses in which the handler's clock runs (dispatch → handling feedback).
HANDLING_STATUSES = frozenset({Status.DISPATCHED, Status.ACCEPTED})
FINAL_STATUSES = frozenset({Status.CLOSED, Status.VOIDED, Status.MERGED})


class Action(models.TextChoices):
    REPORT = "report", _("上报")
    REGISTER = "register", _("立案")
    VOID = "void", _("作废")
    DISPATCH = "dispatch", _("派遣")
    ACCEPT = "accept", _("接单")
    HANDLE = "handle", _("处理反馈")
    VERIFY = "verify", _("核查结案")
    REWORK = "rework", _("返工")
    EXTEND = "extend", _("申请延期")
    APPROVE_EXTENSION = "approve_extension", _("审批延期")
    RETURN = "return", _("退回")
    REOPEN = "reopen", _("重新办理")
    RATE = "rate", _("评价")
    MERGE = "merge", _("合并重复")
    SUPERVISE = "supervise", _("督办")
    ESCALATE = "escalate", _("升级")
    VISIT = "visit", _("回访")


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status | None  # None: the status stays


S = Status
TRANSITIONS: dict[Action, Transition] = {
    Action.REGISTER: Transition(frozenset({S.REPORTED}), S.REGISTERED),
    Action.VOID: Transition(frozenset({S.REPORTED, S.REGISTERED}), S.VOIDED),
    # From registered: first dispatch (the clock starts). From dispatched/accepted: 改派, the
    # deadline is kept.
    Action.DISPATCH: Transition(frozenset({S.REGISTERED, S.DISPATCHED, S.ACCEPTED}), S.DISPATCHED),
    Action.ACCEPT: Transition(frozenset({S.DISPATCHED}), S.ACCEPTED),
    Action.HANDLE: Transition(frozenset({S.ACCEPTED}), S.HANDLED),
    Action.VERIFY: Transition(frozenset({S.HANDLED}), S.CLOSED),
    Action.REWORK: Transition(frozenset({S.HANDLED}), S.ACCEPTED),
    Action.EXTEND: Transition(frozenset({S.DISPATCHED, S.ACCEPTED}), None),
    Action.APPROVE_EXTENSION: Transition(frozenset({S.DISPATCHED, S.ACCEPTED}), None),
    Action.RETURN: Transition(frozenset({S.DISPATCHED, S.ACCEPTED}), S.REGISTERED),
    Action.REOPEN: Transition(frozenset({S.CLOSED}), S.DISPATCHED),
    Action.RATE: Transition(frozenset({S.CLOSED}), None),
    Action.MERGE: Transition(
        frozenset({S.REPORTED, S.REGISTERED, S.DISPATCHED, S.ACCEPTED}), S.MERGED
    ),
    Action.SUPERVISE: Transition(
        frozenset({S.REGISTERED, S.DISPATCHED, S.ACCEPTED, S.HANDLED}), None
    ),
    Action.ESCALATE: Transition(
        frozenset({S.REPORTED, S.REGISTERED, S.DISPATCHED, S.ACCEPTED, S.HANDLED}), None
    ),
    Action.VISIT: Transition(frozenset({S.CLOSED}), None),
}


def allowed(action: str, status: str) -> bool:
    rule = TRANSITIONS.get(Action(action))
    return rule is not None and Status(status) in rule.sources


def actions_from(status: str) -> list[Action]:
    return [action for action, rule in TRANSITIONS.items() if Status(status) in rule.sources]


class Step(models.TextChoices):
    """The step whose clock is running (each has its own time limit per category)."""

    REGISTER = "register", _("立案")
    DISPATCH = "dispatch", _("派遣")
    HANDLE = "handle", _("处置")
    VERIFY = "verify", _("核查")


STEP_OF_STATUS = {
    Status.REPORTED: Step.REGISTER,
    Status.REGISTERED: Step.DISPATCH,
    Status.DISPATCHED: Step.HANDLE,
    Status.ACCEPTED: Step.HANDLE,
    Status.HANDLED: Step.VERIFY,
}


class SlaLevel(models.TextChoices):
    GREEN = "green", _("正常")
    YELLOW = "yellow", _("临期")
    RED = "red", _("超期")


class Channel(models.TextChoices):
    RESIDENT = "resident", _("居民随手拍")
    PATROL = "patrol", _("网格员巡查")
    HOTLINE = "hotline", _("12345 热线")
    PHONE = "phone", _("电话")
    WALK_IN = "walk_in", _("来访")
    API = "api", _("API")
    OPEN311 = "open311", _("Open311")
    MEETING = "meeting", _("议事协商")
    SOS = "sos", _("紧急求助")


STAFF_ENTRY_CHANNELS = frozenset({Channel.HOTLINE, Channel.PHONE, Channel.WALK_IN})


class Priority(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    EMERGENCY = "emergency", _("特急")


class HandlerType(models.TextChoices):
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    TOWNSHIP = "township", _("镇/街道")
    CITY = "city", _("市级")
    PROPERTY = "property", _("物业公司")


# How many leading digits of the grid code name the unit of each region handler type.
UNIT_CODE_LENGTH = {
    HandlerType.GRID: 15,
    HandlerType.COMMUNITY: 12,
    HandlerType.TOWNSHIP: 9,
    HandlerType.CITY: 6,
}


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class RatingSource(models.TextChoices):
    RESIDENT = "resident", _("居民评价")
    VISIT = "visit", _("回访")


class PhotoKind(models.TextChoices):
    REPORT = "report", _("上报照片")
    HANDLE = "handle", _("处置后照片")
    VERIFY = "verify", _("核查照片")


REOPEN_DAYS = 7
