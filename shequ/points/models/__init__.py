"""互融互助 points platform's models, one module per concern, all re-exported here (the
migrations, the admin and every caller import them from `shequ.points.models`):

- accounts.py   Account, Transfer, Entry (the double-entry ledger), FundingRecord, PointsRule
- tasks.py      Task, Claim, VolunteerRecord
- store.py      Store, StoreItem, StockIn, Order (the 爱心超市)
- merchants.py  Merchant, PayCode, MerchantPayment, MerchantSettlement

Ledger rows (Transfer, Entry) and volunteer records are append-only: the ORM has no update or
delete path for them and database triggers refuse UPDATE (and DELETE on PostgreSQL). Balances
live on Account, changed only by `shequ.points.ledger.transfer_post` in the same transaction as
the entries, with a check constraint that keeps every balance but the issuer's ≥ 0.
"""

from shequ.core.masking import mask_name
from shequ.points.models.accounts import Account, Entry, FundingRecord, PointsRule, Transfer
from shequ.points.models.merchants import (
    Merchant,
    MerchantPayment,
    MerchantSettlement,
    PayCode,
)
from shequ.points.models.store import Order, StockIn, Store, StoreItem
from shequ.points.models.tasks import Claim, Task, VolunteerRecord

__all__ = [
    "Account",
    "Claim",
    "Entry",
    "FundingRecord",
    "Merchant",
    "MerchantPayment",
    "MerchantSettlement",
    "Order",
    "PayCode",
    "PointsRule",
    "StockIn",
    "Store",
    "StoreItem",
    "Task",
    "Transfer",
    "VolunteerRecord",
    "masked",
]


def masked(person) -> str:
    return mask_name(person.name) if person is not None else ""
