"""The 爱心超市 and partner merchants: redemption in one transaction, limits, pickup, cancel,
stock-in with donors, reconciliation (账物相符), pay codes and monthly settlement."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.points import clock, ledger
from shequ.points.choices import OrderStatus, PayCodeStatus, StockSource, TransferKind
from shequ.points.models import Merchant, MerchantSettlement, Order, StockIn, StoreItem, Transfer
from shequ.points.selectors import reconciliation, settlement_report
from shequ.points.services import (
    merchant_redeem,
    merchant_settle,
    order_cancel,
    order_confirm_pickup,
    order_pickup,
    order_redeem,
    paycode_issue,
    stock_in,
)
from tests.support.factories import give_points, make_resident_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exact_ledger")]


class TestRedemption:
    def test_redeem_debits_person_credits_store_takes_stock(self, resident, make_item, store):
        user, person = resident
        give_points(person, 100)
        item = make_item(price=30, initial_stock=5)
        order = order_redeem(actor=user, item=item)
        item.refresh_from_db()
        assert order.status == OrderStatus.PENDING and len(order.pickup_code) == 6
        assert order.points == 30 and item.stock == 4
        assert ledger.resident_account(person).balance == 70
        assert ledger.store_account(store).balance == 30

    @pytest.mark.parametrize("balance", [0, 29])
    def test_too_few_points_changes_nothing(self, resident, make_item, balance):
        user, person = resident
        if balance:
            give_points(person, balance)
        item = make_item(price=30, initial_stock=5)
        with pytest.raises(ledger.InsufficientPoints) as error:
            order_redeem(actor=user, item=item)
        assert error.value.status == 402
        item.refresh_from_db()
        assert item.stock == 5 and not Order.objects.exists()

    def test_out_of_stock(self, resident, make_item):
        user, person = resident
        give_points(person, 100)
        item = make_item(price=10, initial_stock=1)
        order_redeem(actor=user, item=item)
        with pytest.raises(ConflictError) as error:
            order_redeem(actor=user, item=item)
        assert error.value.code == "out_of_stock" and error.value.status == 409
        assert ledger.resident_account(person).balance == 90

    def test_monthly_limit_per_person(self, resident, make_item):
        user, person = resident
        give_points(person, 200)
        item = make_item(price=10, monthly_limit=2, initial_stock=10)
        order_redeem(actor=user, item=item)
        with pytest.raises(ConflictError) as error:
            order_redeem(actor=user, item=item, quantity=2)
        assert error.value.code == "monthly_limit_reached"
        order_redeem(actor=user, item=item)
        with pytest.raises(ConflictError):
            order_redeem(actor=user, item=item)
        item.refresh_from_db()
        assert item.stock == 8 and ledger.resident_account(person).balance == 180
        # next month the limit starts again
        with time_machine.travel(timezone.now() + timedelta(days=32)):
            order_redeem(actor=user, item=item)

    def test_cancelled_orders_do_not_count_against_the_limit(self, resident, make_item):
        user, person = resident
        give_points(person, 100)
        item = make_item(price=10, monthly_limit=1, initial_stock=10)
        order = order_redeem(actor=user, item=item)
        order_cancel(actor=user, order=order)
        again = order_redeem(actor=user, item=item)  # the limit of 1 counts only this one
        assert again.pk != order.pk and again.status == OrderStatus.PENDING
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED
        item.refresh_from_db()
        assert item.stock == 9  # the cancelled unit went back
        assert ledger.resident_account(person).balance == 90
        # …and the limit still holds for the order that stands.
        with pytest.raises(ConflictError) as error:
            order_redeem(actor=user, item=item)
        assert error.value.code == "monthly_limit_reached"

    @pytest.mark.parametrize("quantity", [0, -1, 1.5, "x", 21])
    def test_bad_quantity(self, resident, make_item, quantity):
        user, person = resident
        give_points(person, 100)
        item = make_item()
        with pytest.raises(InvalidInput):
            order_redeem(actor=user, item=item, quantity=quantity)
        assert not Order.objects.exists()

    def test_request_key_makes_a_retry_return_the_same_order(self, resident, make_item):
        user, person = resident
        give_points(person, 100)
        item = make_item(price=20)
        first = order_redeem(actor=user, item=item, request_key="form-123")
        second = order_redeem(actor=user, item=item, request_key="form-123")
        assert first.pk == second.pk and Order.objects.count() == 1
        assert ledger.resident_account(person).balance == 80

    def test_other_community_store_is_refused(self, make_item):
        from shequ.geo.models import Region

        item = make_item()
        grid = (
            Region.objects.filter(level="grid")
            .exclude(code__startswith=item.store.region_code)
            .first()
        )
        user, person = make_resident_user("elsewhere", grid.code)
        give_points(person, 100)
        with pytest.raises(PermissionDeniedError):
            order_redeem(actor=user, item=item)

    def test_stock_never_below_zero_in_the_database(self, make_item):
        item = make_item(initial_stock=1)
        with pytest.raises(IntegrityError), transaction.atomic():
            StoreItem.objects.filter(pk=item.pk).update(stock=-1)


class TestPickupAndCancel:
    def test_pickup_by_code_once(self, resident, make_item, persona, store):
        user, person = resident
        give_points(person, 100)
        order = order_redeem(actor=user, item=make_item())
        with pytest.raises(InvalidInput) as error:
            order_pickup(actor=persona("community"), store=store, code="bad")
        assert error.value.code == "invalid_pickup_code"
        picked = order_pickup(actor=persona("community"), store=store, code=order.pickup_code)
        assert picked.status == OrderStatus.PICKED_UP and picked.picked_up_by == persona(
            "community"
        )
        with pytest.raises(ConflictError) as error:
            order_pickup(actor=persona("community"), store=store, code=order.pickup_code)
        assert error.value.code == "already_picked_up"
        with pytest.raises(ConflictError):
            order_confirm_pickup(actor=persona("community"), order=order)
        with pytest.raises(ConflictError):
            order_cancel(actor=user, order=picked)

    def test_grid_worker_cannot_hand_out(self, resident, make_item, persona, store):
        user, person = resident
        give_points(person, 100)
        order = order_redeem(actor=user, item=make_item())
        with pytest.raises(PermissionDeniedError):
            order_pickup(actor=persona("grid"), store=store, code=order.pickup_code)

    def test_cancel_returns_points_and_stock(self, resident, make_item, persona, store):
        user, person = resident
        give_points(person, 100)
        item = make_item(price=25, initial_stock=3)
        order = order_redeem(actor=user, item=item, quantity=2)
        assert ledger.resident_account(person).balance == 50
        with pytest.raises(InvalidInput):
            order_cancel(actor=persona("community"), order=order, reason="")  # staff need a reason
        order_cancel(actor=persona("community"), order=order, reason="居民电话告知不需要")
        item.refresh_from_db()
        assert item.stock == 3 and ledger.resident_account(person).balance == 100
        assert ledger.store_account(store).balance == 0
        assert Transfer.objects.get(kind=TransferKind.REDEMPTION_REFUND).amount == 50
        with pytest.raises(ConflictError):
            order_cancel(actor=user, order=order)

    def test_a_stranger_cannot_cancel(self, resident, volunteer, make_item):
        user, person = resident
        give_points(person, 100)
        order = order_redeem(actor=user, item=make_item())
        with pytest.raises(PermissionDeniedError):
            order_cancel(actor=volunteer[0], order=order, reason="x")


class TestStockAndReconciliation:
    def test_donation_needs_a_donor(self, make_item, persona):
        item = make_item(initial_stock=0)
        with pytest.raises(InvalidInput):
            stock_in(actor=persona("community"), item=item, quantity=5, source=StockSource.DONATION)
        with pytest.raises(InvalidInput):
            stock_in(actor=persona("community"), item=item, quantity=0, source=StockSource.PURCHASE)
        stock_in(
            actor=persona("community"),
            item=item,
            quantity=5,
            source=StockSource.DONATION,
            donor="丹阳农商银行（示例）",
        )
        item.refresh_from_db()
        assert item.stock == 5
        assert StockIn.objects.get(item=item).donor == "丹阳农商银行（示例）"
        with pytest.raises(PermissionDeniedError):
            stock_in(actor=persona("grid"), item=item, quantity=1, source=StockSource.PURCHASE)

    def test_reconciliation_matches_points_and_goods(self, resident, make_item, persona, store):
        user, person = resident
        give_points(person, 500)
        rice = make_item(name="大米5kg", price=60, initial_stock=10)
        soap = make_item(name="香皂", price=5, initial_stock=20, monthly_limit=5)
        a = order_redeem(actor=user, item=rice)
        order_redeem(actor=user, item=soap, quantity=3)
        c = order_redeem(actor=user, item=soap)
        order_pickup(actor=persona("community"), store=store, code=a.pickup_code)
        order_cancel(actor=user, order=c)
        report = reconciliation(store)
        assert report["matched"] is True
        rows = {row["item"].name: row for row in report["items"]}
        assert rows["大米5kg"]["stock_in"] == 10 and rows["大米5kg"]["handed_out"] == 1
        assert rows["香皂"]["pending"] == 3 and rows["香皂"]["stock"] == 17
        assert report["points_expected"] == 60 + 15 == report["points_balance"]
        # a stock figure changed outside the services shows up as a mismatch
        StoreItem.objects.filter(pk=soap.pk).update(stock=16)
        assert reconciliation(store)["matched"] is False


class TestMerchants:
    @pytest.fixture
    def merchant(self, world, persona, db):
        from shequ.accounts.models import User

        merchant = Merchant.objects.create(
            name="丹凤便民超市", region_code=world["grid_a"], yuan_per_point="0.10"
        )
        cashier = User.objects.create_user(username="cashier", password="x")
        merchant.operators.add(cashier)
        return merchant, cashier

    def test_pay_code_moves_points_to_the_merchant_once(self, merchant, resident):
        shop, cashier = merchant
        user, person = resident
        give_points(person, 100)
        code = paycode_issue(actor=user)
        payment = merchant_redeem(
            actor=cashier, merchant=shop, code=code.code, points=30, description="购物抵扣"
        )
        assert str(payment.yuan) == "3.00"
        assert ledger.merchant_account(shop).balance == 30
        assert ledger.resident_account(person).balance == 70
        with pytest.raises(InvalidInput) as error:
            merchant_redeem(actor=cashier, merchant=shop, code=code.code, points=30)
        assert error.value.code == "invalid_paycode"

    def test_short_balance_leaves_the_code_usable(self, merchant, resident):
        shop, cashier = merchant
        user, person = resident
        give_points(person, 10)
        code = paycode_issue(actor=user)
        with pytest.raises(ledger.InsufficientPoints):
            merchant_redeem(actor=cashier, merchant=shop, code=code.code, points=11)
        code.refresh_from_db()
        assert code.status == PayCodeStatus.ACTIVE
        merchant_redeem(actor=cashier, merchant=shop, code=code.code, points=10)

    def test_expired_and_revoked_codes(self, merchant, resident):
        shop, cashier = merchant
        user, person = resident
        give_points(person, 100)
        old = paycode_issue(actor=user)
        new = paycode_issue(actor=user)
        old.refresh_from_db()
        assert old.status == PayCodeStatus.REVOKED
        with (
            time_machine.travel(timezone.now() + timedelta(minutes=6)),
            pytest.raises(ConflictError) as error,
        ):
            merchant_redeem(actor=cashier, merchant=shop, code=new.code, points=5)
        assert error.value.code == "paycode_expired"

    def test_only_the_merchants_cashier(self, merchant, resident, persona):
        shop, _cashier = merchant
        user, person = resident
        give_points(person, 100)
        code = paycode_issue(actor=user)
        with pytest.raises(PermissionDeniedError):
            merchant_redeem(actor=persona("community"), merchant=shop, code=code.code, points=5)

    def test_monthly_settlement_once_per_past_month(self, merchant, resident, persona):
        shop, cashier = merchant
        user, person = resident
        give_points(person, 300)
        tz = timezone.get_current_timezone()
        for day, points in ((3, 20), (15, 30)):
            with clock.at(datetime(2026, 3, day, 10, tzinfo=tz)):
                code = paycode_issue(actor=user)
                merchant_redeem(actor=cashier, merchant=shop, code=code.code, points=points)
        report = settlement_report(persona("community"), date(2026, 3, 1))
        row = next(r for r in report if r["merchant"] == shop)
        assert (row["count"], row["points"], str(row["yuan"])) == (2, 50, "5.00")
        with time_machine.travel(datetime(2026, 3, 20, tzinfo=tz)):
            with pytest.raises(ConflictError) as error:
                merchant_settle(actor=persona("community"), merchant=shop, month=date(2026, 3, 1))
            assert error.value.code == "month_not_over"
        with time_machine.travel(datetime(2026, 4, 2, tzinfo=tz)):
            settlement = merchant_settle(
                actor=persona("community"), merchant=shop, month=date(2026, 3, 1)
            )
            with pytest.raises(ConflictError):
                merchant_settle(actor=persona("community"), merchant=shop, month=date(2026, 3, 1))
        assert settlement.points == 50 and MerchantSettlement.objects.count() == 1
        assert ledger.merchant_account(shop).balance == 0
        with pytest.raises(PermissionDeniedError):
            merchant_settle(actor=persona("grid"), merchant=shop, month=date(2026, 2, 1))
