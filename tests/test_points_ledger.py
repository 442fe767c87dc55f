"""The double-entry ledger: postings, immutability (ORM and database), verify_ledger, rules."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.models import AppendOnlyError, AuditEvent
from shequ.points import ledger
from shequ.points.choices import AccountKind, FunderKind, PointKind, TransferKind
from shequ.points.models import Account, Entry, FundingRecord, PointsRule, Transfer
from shequ.points.services import account_adjust, pool_allocate, pool_fund
from tests.support.factories import give_points, make_person
from tests.support.points import assert_ledger_exact

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exact_ledger")]


def test_transfer_writes_balanced_entries_and_running_balances(resident):
    _user, person = resident
    give_points(person, 50)
    give_points(person, 20)
    account = ledger.resident_account(person)
    assert account.balance == 70
    entries = list(account.entries.order_by("id").values_list("amount", "balance_after"))
    assert entries == [(50, 50), (20, 70)]
    for transfer in Transfer.objects.all():
        assert sum(transfer.entries.values_list("amount", flat=True)) == 0


def test_two_kinds_of_points_in_one_ledger(resident):
    _user, person = resident
    give_points(person, 5, PointKind.VOLUNTEER)
    give_points(person, 7, PointKind.PARTY)
    assert ledger.resident_account(person, PointKind.VOLUNTEER).balance == 5
    assert ledger.resident_account(person, PointKind.PARTY).balance == 7
    with pytest.raises(InvalidInput) as error:
        ledger.transfer_post(
            key="mixed",
            kind=TransferKind.ADJUSTMENT,
            reason="x",
            legs=[
                (ledger.resident_account(person, PointKind.VOLUNTEER), -1),
                (ledger.resident_account(person, PointKind.PARTY), 1),
            ],
        )
    assert error.value.code == "mixed_point_kinds"


@pytest.mark.parametrize(
    ("legs", "code"),
    [
        ([-5, 4], "unbalanced_transfer"),
        ([0, 0], "invalid_amount"),
        ([-1.5, 1.5], "invalid_amount"),
        ([5], "invalid_transfer"),
    ],
)
def test_bad_transfers_are_refused_and_write_nothing(resident, pool, legs, code):
    _user, person = resident
    accounts = [pool, ledger.resident_account(person)]
    before = Entry.objects.count()
    with pytest.raises(InvalidInput) as error:
        ledger.transfer_post(
            key="bad",
            kind=TransferKind.ADJUSTMENT,
            reason="x",
            legs=list(zip(accounts, legs, strict=False)),
        )
    assert error.value.code == code
    assert Entry.objects.count() == before


def test_reason_and_key_are_required(resident, pool):
    _user, person = resident
    legs = [(pool, -1), (ledger.resident_account(person), 1)]
    with pytest.raises(InvalidInput) as error:
        ledger.transfer_post(key="k", kind=TransferKind.ADJUSTMENT, reason="  ", legs=legs)
    assert error.value.code == "reason_required"
    with pytest.raises(InvalidInput):
        ledger.transfer_post(key="", kind=TransferKind.ADJUSTMENT, reason="x", legs=legs)


def test_same_key_posts_once(resident, pool):
    _user, person = resident
    legs = [(pool, -3), (ledger.resident_account(person), 3)]
    ledger.transfer_post(key="once", kind=TransferKind.ADJUSTMENT, reason="x", legs=legs)
    with pytest.raises(ConflictError) as error:
        ledger.transfer_post(key="once", kind=TransferKind.ADJUSTMENT, reason="x", legs=legs)
    assert error.value.code == "duplicate_transfer"
    assert ledger.resident_account(person).balance == 3


def test_balance_never_below_zero(resident):
    _user, person = resident
    give_points(person, 10)
    account = ledger.resident_account(person)
    with pytest.raises(ledger.InsufficientPoints) as error:
        ledger.transfer_post(
            key="overdraw",
            kind=TransferKind.ADJUSTMENT,
            reason="x",
            legs=[(account, -11), (ledger.issuer_account(), 11)],
        )
    assert error.value.status == 402 and error.value.code == "insufficient_points"
    account.refresh_from_db()
    assert account.balance == 10


def test_database_refuses_negative_resident_and_pool_balances(resident, pool):
    _user, person = resident
    account = ledger.resident_account(person)
    for row in (account, pool):
        with pytest.raises(IntegrityError), transaction.atomic():
            Account.objects.filter(pk=row.pk).update(balance=-1)
    # The issuer is the one account that goes below zero (points in circulation).
    assert ledger.issuer_account().balance == -pool.balance


def test_entries_and_transfers_are_immutable_in_the_orm(resident):
    _user, person = resident
    give_points(person, 5)
    entry = Entry.objects.first()
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        Entry.objects.filter(pk=entry.pk).update(amount=1000)
    with pytest.raises(AppendOnlyError):
        Transfer.objects.all().delete()


def test_entries_are_immutable_in_the_database(resident):
    _user, person = resident
    give_points(person, 5)
    entry = Entry.objects.first()
    statements = [
        ("UPDATE points_entry SET amount = 1000 WHERE id = %s", entry.pk),
        ("UPDATE points_transfer SET reason = 'x' WHERE id = %s", entry.transfer_id),
    ]
    if connection.vendor == "postgresql":
        statements.append(("DELETE FROM points_entry WHERE id = %s", entry.pk))
    for sql, pk in statements:
        with (
            pytest.raises(Exception, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])


def test_verify_ledger_passes_and_fails(resident, pool):
    _user, person = resident
    give_points(person, 40)
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert "一致" in out.getvalue()
    # Corrupt a balance behind the ledger's back: the command must fail.
    with transaction.atomic():
        Account.objects.filter(pk=ledger.resident_account(person).pk).update(balance=41)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", stdout=StringIO(), stderr=StringIO())
    assert exit_info.value.code == 1
    violations = ledger.ledger_violations()
    assert [v.rule for v in violations] == ["balance_equals_entries"]
    Account.objects.filter(pk=ledger.resident_account(person).pk).update(balance=40)


def test_verify_ledger_detects_an_unbalanced_transfer(resident):
    _user, person = resident
    give_points(person, 5)
    # A hand-written, one-legged transfer (bypassing the service): 5 points out of nowhere.
    transfer = Transfer.objects.create(
        key="forged",
        kind=TransferKind.ADJUSTMENT,
        point_kind="volunteer",
        amount=5,
        reason="forged",
        region_code=person.region_code,
    )
    account = ledger.resident_account(person)
    Entry.objects.create(transfer=transfer, account=account, amount=5, balance_after=10)
    Account.objects.filter(pk=account.pk).update(balance=10)
    rules = {v.rule for v in ledger.ledger_violations()}
    assert {"entries_sum_zero", "transfer_has_entries"} <= rules
    with pytest.raises(SystemExit):
        call_command("verify_ledger", stdout=StringIO(), stderr=StringIO())
    # Undo with a balancing entry so the module's invariant check passes.
    Entry.objects.create(
        transfer=transfer, account=ledger.issuer_account(), amount=-5, balance_after=-5
    )
    Account.objects.filter(pk=ledger.issuer_account().pk).update(
        balance=ledger.issuer_account().balance - 5
    )


def test_pool_funding_is_recorded_with_the_funder(persona, world):
    pool = ledger.pool_account(world["community"])
    record = pool_fund(
        actor=persona("community"),
        pool=pool,
        funder_kind=FunderKind.PARTNER,
        funder_name="丹阳农商银行（示例）",
        amount=500,
        yuan="500.00",
    )
    pool.refresh_from_db()
    assert pool.balance == 500
    assert FundingRecord.objects.get().funder_name == "丹阳农商银行（示例）"
    assert record.transfer.kind == TransferKind.FUNDING
    assert AuditEvent.objects.filter(action="points.pool_fund").count() == 1


def test_grid_worker_cannot_fund_and_grid2_pool_out_of_scope(persona, world):
    pool = ledger.pool_account(world["community"])
    from shequ.core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        pool_fund(actor=persona("grid"), pool=pool, funder_kind="city", funder_name="x", amount=1)
    assert Transfer.objects.count() == 0


def test_township_allocates_to_a_community_pool(persona, world):
    township_pool = ledger.pool_account(world["township"])
    pool_fund(
        actor=persona("township"),
        pool=township_pool,
        funder_kind="city",
        funder_name="丹阳市财政",
        amount=1000,
    )
    community_pool = ledger.pool_account(world["community"])
    pool_allocate(
        actor=persona("township"),
        source=township_pool,
        target=community_pool,
        amount=300,
        reason="季度划拨",
    )
    township_pool.refresh_from_db()
    community_pool.refresh_from_db()
    assert (township_pool.balance, community_pool.balance) == (700, 300)
    with pytest.raises(InvalidInput):
        pool_allocate(
            actor=persona("township"),
            source=community_pool,
            target=township_pool,
            amount=1,
            reason="向上",
        )


class TestAdjustments:
    def test_adjustment_needs_reason_is_capped_and_audited(self, persona, resident, pool):
        _user, person = resident
        staff = persona("community")
        with pytest.raises(InvalidInput) as error:
            account_adjust(actor=staff, person=person, amount=10, reason="")
        assert error.value.code == "reason_required"
        with pytest.raises(InvalidInput) as error:
            account_adjust(actor=staff, person=person, amount=101, reason="补录")
        assert error.value.code == "over_adjustment_cap"
        for bad in ("1.5", "abc", 0, True):
            with pytest.raises(InvalidInput):
                account_adjust(actor=staff, person=person, amount=bad, reason="补录")
        assert Transfer.objects.filter(kind=TransferKind.ADJUSTMENT).count() == 0
        account_adjust(actor=staff, person=person, amount=15, reason="线下活动补录")
        account_adjust(actor=staff, person=person, amount="-5", reason="重复登记冲正")
        assert ledger.resident_account(person).balance == 10
        events = AuditEvent.objects.filter(action="points.adjust")
        assert events.count() == 2 and set(events.values_list("reason", flat=True)) == {
            "线下活动补录",
            "重复登记冲正",
        }

    def test_cap_comes_from_the_most_specific_rule(self, persona, resident, pool, world):
        _user, person = resident
        PointsRule.objects.create(region_code=world["city"], adjustment_cap=10)
        PointsRule.objects.create(region_code=world["community"], adjustment_cap=20)
        account_adjust(actor=persona("community"), person=person, amount=20, reason="补录")
        with pytest.raises(InvalidInput):
            account_adjust(actor=persona("community"), person=person, amount=21, reason="补录")

    def test_negative_adjustment_cannot_overdraw(self, persona, resident, pool):
        _user, person = resident
        with pytest.raises(ledger.InsufficientPoints):
            account_adjust(actor=persona("community"), person=person, amount=-5, reason="冲正")

    def test_grid_worker_of_other_grid_cannot_adjust(self, persona, world, pool):
        person = make_person(grid_code=world["grid_a"])
        from shequ.core.errors import PermissionDeniedError

        with pytest.raises(PermissionDeniedError):
            account_adjust(actor=persona("grid2"), person=person, amount=5, reason="x")


def test_account_kinds_enforced_by_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(
            kind=AccountKind.RESIDENT, point_kind="volunteer", name="x", region_code="321181"
        )


def test_ledger_exact_helper_runs():
    assert_ledger_exact()
