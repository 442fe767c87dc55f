"""One service per transition of the closed loop (立案 → 派遣 → 处置 → 核查 → 结案 and the side
roads). Each checks who may act, then `apply_transition` compare-and-sets the status from the
table in `workflow.py` and appends the timeline row; side effects run after commit.

`actor=None` means the system (automatic dispatch, the SLA sweep); pages, the API, Open311 and
commands always pass the acting user.

A package by concern: `dispatch` (立案, 作废, 派遣, 接单, 退回), `handling` (处理反馈, 核查, 返工,
延期, 重新办理), `escalation` (督办, 升级 and the sweep's bulk `cases_escalate_due`), `merge`
(合并重复). The shared machinery (`apply_transition`, the photo step, who is told) is in
`shequ.cases.services._common`; every name below stays importable from here.
"""

from shequ.cases.services.transitions.dispatch import (
    case_accept,
    case_dispatch,
    case_register,
    case_return,
    case_void,
)
from shequ.cases.services.transitions.escalation import (
    case_escalate,
    case_supervise,
    cases_escalate_due,
    sla_level_label,
)
from shequ.cases.services.transitions.handling import (
    case_approve_extension,
    case_handle,
    case_reopen,
    case_request_extension,
    case_rework,
    case_verify,
)
from shequ.cases.services.transitions.merge import (
    case_merge,
)

__all__ = [
    "case_accept",
    "case_approve_extension",
    "case_dispatch",
    "case_escalate",
    "case_handle",
    "case_merge",
    "case_register",
    "case_reopen",
    "case_request_extension",
    "case_return",
    "case_rework",
    "case_supervise",
    "case_verify",
    "case_void",
    "cases_escalate_due",
    "sla_level_label",
]
