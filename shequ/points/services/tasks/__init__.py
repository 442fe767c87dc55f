"""Tasks (微心愿 / 志愿任务 / 互助求助), claims, on-site check-in/out and crediting.

States: draft → published → full → in progress → completed / cancelled. Publishing escrows
quota × points from the funding account (a pool, or the asking resident's own balance for 互助);
each confirmation pays one claim out of escrow, once (the transfer key is per claim); completing
or cancelling returns what is left. 信用 points come only from a verified check-in and check-out
or from the beneficiary's confirmation; 荣誉 points are granted by staff with a reason, capped at
the task's own points and hours, audited, and only once the task has begun.

Hours credited for a verified check-in and check-out are the time actually served (see
`served_hours`): rounded down to SHEQU_POINTS_HOURS_UNIT_MINUTES, at least
SHEQU_POINTS_HOURS_MINIMUM_MINUTES, at most the task's hours — a check-out minutes after the
check-in does not earn the task's full hours. The points stay the task's points.

One package, two modules: `lifecycle` (create, publish, cancel, complete; the escrow) and
`claims` (claim, withdraw, check-in/out, confirm, 荣誉). Everything callers use is re-exported
here.
"""

from shequ.points.services.tasks.claims import (
    can_confirm,
    claim_check,
    claim_confirm,
    claim_grant_honour,
    claim_withdraw,
    served_hours,
    task_claim,
)
from shequ.points.services.tasks.lifecycle import (
    CHECKIN_EARLY,
    CHECKOUT_LATE,
    MAX_QUOTA,
    help_request_create,
    task_cancel,
    task_complete,
    task_create,
    task_publish,
)

__all__ = [
    "CHECKIN_EARLY",
    "CHECKOUT_LATE",
    "MAX_QUOTA",
    "can_confirm",
    "claim_check",
    "claim_confirm",
    "claim_grant_honour",
    "claim_withdraw",
    "help_request_create",
    "served_hours",
    "task_cancel",
    "task_claim",
    "task_complete",
    "task_create",
    "task_publish",
]
