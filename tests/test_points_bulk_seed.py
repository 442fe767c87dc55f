"""The ledger's bulk path for `seed_demo --scale medium|city` (shequ.points.demo_bulk), run at a
tiny size: entry count, balanced transfers, balances equal to their entries (including each
entry's running balance), nothing overdrawn, verify_ledger clean, and determinism."""

import datetime as dt
import hashlib
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from shequ.demo import danyang
from shequ.geo.models import Region
from shequ.points import demo_bulk, ledger
from shequ.points.choices import AccountKind, TransferKind
from shequ.points.models import Account, Entry, FundingRecord, Transfer
from tests.support.factories import make_person

TARGET = 2_000
NOW = timezone.make_aware(dt.datetime(2026, 6, 15, 12))


@pytest.fixture
def residents(db):
    grids = list(
        Region.objects.filter(level="grid")
        .exclude(code__startswith=danyang.FLAGSHIP_CODE)
        .order_by("code")
        .values_list("code", flat=True)
    )
    by_community: dict[str, str] = {}
    for code in grids:
        by_community.setdefault(code[:12], code)
    chosen = sorted(by_community.values())[:3]
    assert len(chosen) == 3, "the test geography needs three communities besides the flagship"
    people = [make_person(grid_code=chosen[n % 3], name="张三丰") for n in range(240)]
    # a resident of the flagship community stays out of the bulk history
    flagship_grid = (
        Region.objects.filter(level="grid", code__startswith=danyang.FLAGSHIP_CODE)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    flagship_person = make_person(grid_code=flagship_grid, name="李四")
    return people, flagship_person


def _run(seed: int = 7) -> dict:
    return demo_bulk.seed_ledger(
        rng=random.Random(seed),
        target_entries=TARGET,
        exclude_prefixes=(danyang.FLAGSHIP_CODE,),
        now=NOW,
        log=lambda message: None,
    )


def _digest() -> str:
    accounts = {
        pk: (kind, region, person or 0)
        for pk, kind, region, person in Account.objects.values_list(
            "pk", "kind", "region_code", "person_id"
        )
    }
    h = hashlib.sha256()
    for row in Transfer.objects.order_by("id").values_list(
        "kind", "amount", "reason", "region_code", "created_at"
    ):
        h.update(repr(row).encode())
    for account, amount, balance in Entry.objects.order_by("id").values_list(
        "account_id", "amount", "balance_after"
    ):
        h.update(repr((accounts[account], amount, balance)).encode())
    return h.hexdigest()


def test_bulk_ledger_is_consistent_and_realistic(residents):
    people, flagship_person = residents
    before = Entry.objects.count()
    stats = _run()

    entries = Entry.objects.count() - before
    assert entries == stats["entries"]
    assert TARGET * 0.95 <= entries <= TARGET * 1.05
    assert 0.10 <= stats["volunteers"] / len(people) <= 0.25
    assert stats["communities"] == 3

    # every transfer balances and has two legs adding up to its amount
    per_transfer = Entry.objects.values("transfer_id").annotate(
        total=Sum("amount"), legs=Count("id")
    )
    assert not per_transfer.exclude(total=0).exists()
    assert set(per_transfer.values_list("legs", flat=True)) == {2}

    # balances equal the sum of entries, and balance_after is the running balance in id order
    running: dict[int, int] = {}
    for account, amount, balance_after in Entry.objects.order_by("id").values_list(
        "account_id", "amount", "balance_after"
    ):
        running[account] = running.get(account, 0) + amount
        assert balance_after == running[account]
    for account in Account.objects.all():
        assert account.balance == running.get(account.pk, 0), account
        if account.kind != AccountKind.ISSUER:
            assert account.balance >= 0
    assert (
        min(
            Entry.objects.exclude(account__kind=AccountKind.ISSUER).values_list(
                "balance_after", flat=True
            )
        )
        >= 0
    )

    # the three flows, each between the right kinds of accounts
    kinds = dict(Transfer.objects.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    assert set(kinds) == {TransferKind.FUNDING, TransferKind.REWARD, TransferKind.REDEMPTION}
    assert kinds[TransferKind.REWARD] > kinds[TransferKind.REDEMPTION] > 0
    assert FundingRecord.objects.count() == kinds[TransferKind.FUNDING]
    issuer = ledger.issuer_account()
    for transfer in Transfer.objects.filter(kind=TransferKind.REDEMPTION)[:50]:
        legs = {e.account.kind: e.amount for e in transfer.entries.select_related("account")}
        assert legs == {AccountKind.RESIDENT: -transfer.amount, AccountKind.STORE: transfer.amount}
    for transfer in Transfer.objects.filter(kind=TransferKind.FUNDING):
        assert set(transfer.entries.values_list("account_id", flat=True)) >= {issuer.pk}

    # five years of history, more volunteering at weekends, no store visits on Sunday
    dates = list(Transfer.objects.values_list("created_at", flat=True))
    assert (NOW - min(dates)).days > 4 * 365
    rewards = [
        timezone.localtime(t).weekday()
        for t in Transfer.objects.filter(kind=TransferKind.REWARD).values_list(
            "created_at", flat=True
        )
    ]
    assert rewards.count(5) > rewards.count(1)
    assert not any(
        timezone.localtime(t).weekday() == 6
        for t in Transfer.objects.filter(kind=TransferKind.REDEMPTION).values_list(
            "created_at", flat=True
        )
    )
    assert not Account.objects.filter(person=flagship_person).exists()

    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert "账本一致" in out.getvalue()
    assert ledger.ledger_violations() == []


def test_bulk_ledger_is_deterministic(residents):
    digests = []
    for seed in (7, 7, 8):
        with transaction.atomic():
            _run(seed)
            digests.append(_digest())
            transaction.set_rollback(True)
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]


def test_small_scale_has_no_bulk_path():
    assert set(demo_bulk.ENTRIES) == {"medium", "city"}
    assert demo_bulk.ENTRIES["medium"] * 10 == demo_bulk.ENTRIES["city"] == 2_000_000
