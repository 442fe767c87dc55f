"""Who may do what on the points platform (merged into the role table at start-up)."""

from shequ.core.roles import Role

PARTICIPATE = "points.participate"  # a resident: claim, redeem, ask for help, own records
VIEW = "points.view"  # see tasks, claims and accounts in scope
MANAGE_TASKS = "points.manage_tasks"  # publish, cancel, complete tasks
CONFIRM = "points.confirm"  # confirm completions (信用 from verified attendance)
HONOUR = "points.grant_honour"  # 荣誉 points with a reason, capped, audited
ADJUST = "points.adjust"  # staff adjustments of a resident's balance, audited
FUND = "points.fund"  # record funding into pools
MANAGE_STORE = "points.manage_store"  # items, stock-in, orders, pickup
MANAGE_MERCHANTS = "points.manage_merchants"  # merchants, monthly settlement
REPORTS = "points.reports"  # reconciliation, pools
MERCHANT_TILL = "points.merchant_till"  # a merchant's cashier redeeming resident codes
# 志愿星级: one's own level by thresholds and units compared — no ranking of people (国办函〔2026〕
# 12号). The code keeps its old name so existing role grants stay valid.
RECOGNITION = "points.leaderboard"
LEADERBOARD = RECOGNITION

_task_work = {VIEW, MANAGE_TASKS, CONFIRM, HONOUR, RECOGNITION}
_all_staff = {
    *_task_work,
    ADJUST,
    FUND,
    MANAGE_STORE,
    MANAGE_MERCHANTS,
    REPORTS,
    # admin (configuration; ledger rows are view-only)
    "points.view_store",
    "points.change_store",
    "points.view_merchant",
    "points.add_merchant",
    "points.change_merchant",
    "points.view_account",
    "points.view_transfer",
    "points.view_pointsrule",
}

GRANTS = {
    Role.RESIDENT: {PARTICIPATE, RECOGNITION},
    Role.GRID_WORKER: _task_work,
    Role.COMMUNITY_STAFF: _all_staff,
    Role.TOWNSHIP_OFFICER: _all_staff,
    Role.CITY_OPERATOR: {
        *_all_staff,
        "points.add_store",
        "points.add_pointsrule",
        "points.change_pointsrule",
    },
    Role.AUDITOR: {VIEW, REPORTS, RECOGNITION},
    Role.PARTNER_CONTACT: {MERCHANT_TILL},
}
