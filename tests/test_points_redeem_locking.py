"""Redemption's lock order (resident account → item → store account), under real concurrency on
PostgreSQL: the monthly limit holds when one resident clicks many times at once, and
redemptions racing cancellations of the same resident and item never deadlock."""

import pytest
from django.db import connection

from shequ.accounts.models import User
from shequ.points.models import Order, StoreItem
from shequ.points.services import order_cancel, order_redeem
from tests.support.concurrency import run_threads
from tests.support.factories import buyers, make_store_item
from tests.support.points import assert_ledger_exact

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL"
)


def test_monthly_limit_holds_when_one_resident_clicks_twenty_times(
    reseed_after_flush, transactional_db, world
):
    _store, item = make_store_item(world, stock=100, price=10, limit=2)
    [(user, _person)] = buyers(world, 1, 1000)

    def redeem(_index: int) -> None:
        order_redeem(
            actor=User.objects.get(pk=user.pk),
            item=StoreItem.objects.select_related("store").get(pk=item.pk),
        )

    outcomes = run_threads(20, redeem)
    assert outcomes == {"ok": 2, "monthly_limit_reached": 18}, outcomes
    item.refresh_from_db()
    assert item.stock == 98
    assert_ledger_exact()


def test_redemptions_and_cancellations_of_one_resident_do_not_deadlock(
    reseed_after_flush, transactional_db, world
):
    _store, item = make_store_item(world, stock=100, price=10, limit=20)
    people = buyers(world, 4, 1000)
    first = [
        order_redeem(actor=user, item=StoreItem.objects.select_related("store").get(pk=item.pk))
        for user, _person in people
        for _ in range(3)
    ]

    def act(index: int) -> None:
        if index % 2:
            order = Order.objects.select_related("person", "store", "item").get(
                pk=first[index // 2].pk
            )
            order_cancel(actor=User.objects.get(pk=order.person.user_id), order=order)
        else:
            user = people[(index // 2) % 4][0]
            order_redeem(
                actor=User.objects.get(pk=user.pk),
                item=StoreItem.objects.select_related("store").get(pk=item.pk),
            )

    outcomes = run_threads(24, act)
    assert outcomes == {"ok": 24}, outcomes  # no deadlock (40P01) or other error
    item.refresh_from_db()
    live = Order.objects.exclude(status="cancelled").count()
    assert live == 12  # 12 first orders, 12 of them cancelled, 12 new ones
    assert item.stock == 100 - live
    assert_ledger_exact()
