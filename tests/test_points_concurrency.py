"""Concurrency: real threads against PostgreSQL (SQLite serialises writers, so there the
scenarios run one after another). The ledger invariants are checked after every scenario.

`reseed_after_flush` is listed before `transactional_db` so the base world comes back after
the flush that ends each transactional test (and those tests carry no `django_db` mark, whose
autouse fixture would open the database before it).
"""

from collections import Counter

import pytest
from django.db import connection

from shequ.accounts.models import User
from shequ.core.errors import ServiceError
from shequ.points import ledger
from shequ.points.choices import ClaimStatus, TransferKind
from shequ.points.models import Account, Claim, Order, StoreItem, Task, Transfer
from shequ.points.services import (
    claim_check,
    claim_confirm,
    merchant_redeem,
    order_redeem,
    paycode_issue,
    task_claim,
    task_create,
)
from tests.support.concurrency import run_threads
from tests.support.factories import (
    buyers,
    fund_pool,
    make_store_item,
    window,
)
from tests.support.points import assert_ledger_exact

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL"
)


@on_postgres
def test_50_concurrent_redemptions_of_the_last_10_items(
    reseed_after_flush, transactional_db, world
):
    _store, item = make_store_item(world, stock=10, price=30, limit=5)
    people = buyers(world, 25, 30)  # each can afford exactly one; two threads per person

    def redeem(index: int) -> None:
        user = User.objects.get(pk=people[index % 25][0].pk)
        order_redeem(actor=user, item=StoreItem.objects.select_related("store").get(pk=item.pk))

    outcomes = run_threads(50, redeem)
    assert outcomes["ok"] == 10, outcomes
    assert set(outcomes) <= {"ok", "out_of_stock", "insufficient_points"}, outcomes
    item.refresh_from_db()
    assert item.stock == 0
    assert Order.objects.count() == 10
    assert not Account.objects.filter(balance__lt=0).exclude(kind="issuer").exists()
    assert Transfer.objects.filter(kind=TransferKind.REDEMPTION).count() == 10
    assert_ledger_exact()


@on_postgres
def test_concurrent_claims_confirmations_and_pay_codes(reseed_after_flush, transactional_db, world):
    fund_pool(world)
    start, end = window()
    task = task_create(
        actor=User.objects.get(username="grid"),
        kind="volunteer",
        title="并发任务",
        category="other",
        region_code=world["grid_a"],
        starts_at=start,
        ends_at=end,
        quota=5,
        points_per_person=10,
        hours_per_person=1,
        publish=True,
    )
    people = buyers(world, 20, 100)

    # 20 people race for 5 places; each person also clicks twice.
    outcomes = run_threads(
        40, lambda i: task_claim(actor=User.objects.get(pk=people[i % 20][0].pk), task=task)
    )
    assert outcomes["ok"] == 5, outcomes
    assert set(outcomes) <= {"ok", "task_full", "already_claimed", "stale_state"}, outcomes
    task.refresh_from_db()
    assert task.claims_count == 5 == Claim.objects.filter(task=task).count()
    assert task.status == "full"

    # One checked-out claim confirmed by ten staff clicks at once: credited once.
    claim = Claim.objects.filter(task=task).first()
    volunteer = claim.person.user
    claim_check(actor=volunteer, task=task, code=task.checkin_code)
    claim_check(actor=volunteer, task=task, code=task.checkout_code)
    before = ledger.resident_account(claim.person).balance
    outcomes = run_threads(
        10,
        lambda i: claim_confirm(
            actor=User.objects.get(username="grid"), claim=Claim.objects.get(pk=claim.pk)
        ),
    )
    assert outcomes["ok"] == 1, outcomes
    assert ledger.resident_account(claim.person).balance == before + 10
    assert Transfer.objects.filter(kind=TransferKind.REWARD).count() == 1
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.CONFIRMED

    # One pay code redeemed at five tills at once: paid once.
    from shequ.points.models import Merchant

    shop = Merchant.objects.create(name="便民超市", region_code=world["grid_a"])
    cashier = User.objects.create_user(username="cashier", password="x")
    shop.operators.add(cashier)
    payer_user, _payer = people[0]
    code = paycode_issue(actor=payer_user)
    outcomes = run_threads(
        5, lambda i: merchant_redeem(actor=cashier, merchant=shop, code=code.code, points=40)
    )
    assert outcomes["ok"] == 1, outcomes
    assert ledger.merchant_account(shop).balance == 40
    assert_ledger_exact()
    assert Task.objects.filter(pk=task.pk, claims_count__lte=5).exists()


@pytest.mark.django_db
def test_sequential_redemptions_of_the_last_10_items(world):
    """The same scenario without threads (meaningful on SQLite, which serialises writers)."""
    _store, item = make_store_item(world, stock=10, price=30, limit=5)
    people = buyers(world, 25, 30)
    outcomes = Counter()
    for index in range(50):
        try:
            order_redeem(actor=people[index % 25][0], item=item)
            outcomes["ok"] += 1
        except ServiceError as error:
            outcomes[error.code] += 1
    assert outcomes == {"ok": 10, "out_of_stock": 40}
    item.refresh_from_db()
    assert item.stock == 0 and Order.objects.count() == 10
    assert not Account.objects.filter(balance__lt=0).exclude(kind="issuer").exists()
    assert_ledger_exact()
