"""Points services (writes). Each state change is one function used by pages, API and admin."""

from shequ.points.services.accounts import (
    account_adjust,
    points_expire,
    pool_allocate,
    pool_fund,
)
from shequ.points.services.common import person_of, require_person, rules_for
from shequ.points.services.credit import (
    credit_source_label,
    participation_credit,
    register_credit_source,
)
from shequ.points.services.merchants import merchant_redeem, merchant_settle, paycode_issue
from shequ.points.services.store import (
    order_cancel,
    order_confirm_pickup,
    order_pickup,
    order_redeem,
    stock_in,
    store_item_create,
    store_item_update,
)
from shequ.points.services.tasks import (
    claim_check,
    claim_confirm,
    claim_grant_honour,
    claim_withdraw,
    help_request_create,
    served_hours,
    task_cancel,
    task_claim,
    task_complete,
    task_create,
    task_publish,
)

__all__ = [
    "account_adjust",
    "claim_check",
    "claim_confirm",
    "claim_grant_honour",
    "claim_withdraw",
    "credit_source_label",
    "help_request_create",
    "merchant_redeem",
    "merchant_settle",
    "order_cancel",
    "order_confirm_pickup",
    "order_pickup",
    "order_redeem",
    "participation_credit",
    "paycode_issue",
    "person_of",
    "points_expire",
    "pool_allocate",
    "pool_fund",
    "register_credit_source",
    "require_person",
    "rules_for",
    "served_hours",
    "stock_in",
    "store_item_create",
    "store_item_update",
    "task_cancel",
    "task_claim",
    "task_complete",
    "task_create",
    "task_publish",
]
