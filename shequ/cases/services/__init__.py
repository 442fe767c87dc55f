"""Services of the closed loop: every change of a case goes through one of these functions.

Pages, the JSON API, Open311, admin actions and commands call the same functions;
`case_apply` maps an action name (the API's `{"action": …}`) to its service.
"""

from collections.abc import Callable
from typing import Any

from shequ.cases.models import Case
from shequ.cases.services.feedback import case_note_add, case_rate, case_visit
from shequ.cases.services.privacy import (
    case_reveal_contact_phone,
    case_reveal_description,
    may_reveal_description,
)
from shequ.cases.services.report import (
    case_follow,
    case_report,
    new_case_code,
    report_rate_check,
    reporting_channel,
)
from shequ.cases.services.transitions import (
    case_accept,
    case_approve_extension,
    case_dispatch,
    case_escalate,
    case_handle,
    case_merge,
    case_register,
    case_reopen,
    case_request_extension,
    case_return,
    case_rework,
    case_supervise,
    case_verify,
    case_void,
)
from shequ.cases.workflow import Action
from shequ.core.actors import AnyUser

SERVICES: dict[Action, Callable[..., Case]] = {
    Action.REGISTER: case_register,
    Action.VOID: case_void,
    Action.DISPATCH: case_dispatch,
    Action.ACCEPT: case_accept,
    Action.HANDLE: case_handle,
    Action.VERIFY: case_verify,
    Action.REWORK: case_rework,
    Action.EXTEND: case_request_extension,
    Action.APPROVE_EXTENSION: case_approve_extension,
    Action.RETURN: case_return,
    Action.REOPEN: case_reopen,
    Action.RATE: case_rate,
    Action.MERGE: case_merge,
    Action.SUPERVISE: case_supervise,
    Action.ESCALATE: case_escalate,
    Action.VISIT: case_visit,
}
# The parameters each action takes besides case and actor (for the API and the pages).
PARAMETERS = {
    Action.REGISTER: ("note", "category", "priority"),
    Action.VOID: ("reason",),
    Action.DISPATCH: ("handler_type", "handler_unit_code", "handler_company", "note"),
    Action.ACCEPT: (),
    Action.HANDLE: ("note", "photos"),
    Action.VERIFY: ("note", "photos"),
    Action.REWORK: ("note",),
    Action.EXTEND: ("amount", "reason"),
    Action.APPROVE_EXTENSION: ("approved", "amount", "note"),
    Action.RETURN: ("reason",),
    Action.REOPEN: ("reason",),
    Action.RATE: ("rating", "comment", "reopen"),
    Action.MERGE: ("into", "note"),
    Action.SUPERVISE: ("note",),
    Action.ESCALATE: ("note",),
    Action.VISIT: ("rating", "contacted", "resolved", "note"),
}


def case_apply(action: str, *, case: Case, actor: AnyUser | None, **params: Any) -> Case:
    """Run the service of `action` with the parameters it accepts (others are ignored)."""
    action = Action(action)
    accepted = {k: v for k, v in params.items() if k in PARAMETERS[action] and v is not None}
    return SERVICES[action](case=case, actor=actor, **accepted)


__all__ = [
    "PARAMETERS",
    "SERVICES",
    "case_accept",
    "case_apply",
    "case_approve_extension",
    "case_dispatch",
    "case_escalate",
    "case_follow",
    "case_handle",
    "case_merge",
    "case_note_add",
    "case_rate",
    "case_register",
    "case_reopen",
    "case_report",
    "case_request_extension",
    "case_return",
    "case_reveal_contact_phone",
    "case_reveal_description",
    "case_rework",
    "case_supervise",
    "case_verify",
    "case_visit",
    "case_void",
    "may_reveal_description",
    "new_case_code",
    "report_rate_check",
    "reporting_channel",
]
