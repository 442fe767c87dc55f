"""The double-entry ledger: the only code that changes an account's balance.

`transfer_post()` changes the balances of the accounts it touches with one conditional UPDATE
each (in primary-key order, so two transfers never wait on each other in a cycle; the UPDATE
locks the row and refuses a balance below zero), then writes one Transfer and its Entries in
the same transaction. The database backs each rule up: a unique idempotency
key, a reason, entries that cannot be changed, balances that cannot go below zero.

`ledger_violations()` recomputes everything from the entries; `verify_ledger` prints it.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from shequ.core.actors import Actor
from shequ.core.errors import ConflictError, InvalidInput, ServiceError
from shequ.geo.models import Region
from shequ.people.models import Person
from shequ.points import clock
from shequ.points.choices import AccountKind, PointKind
from shequ.points.models import Account, Entry, Merchant, Store, Task, Transfer


class InsufficientPoints(ServiceError):
    """The paying account's balance is short (HTTP 402 Payment Required)."""

    status = 402
    code = "insufficient_points"


class DuplicateTransfer(ConflictError):
    code = "duplicate_transfer"


def check_amount(value: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """A whole, positive number of points — or a clear InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("+").isdigit():
            value = int(value.strip())
        else:
            raise InvalidInput(
                _("积分必须是整数。"), code="invalid_amount", details={"field": field}
            )
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(_("积分必须大于零。"), code="invalid_amount", details={"field": field})
    if value > 10_000_000:
        raise InvalidInput(_("积分数额过大。"), code="invalid_amount", details={"field": field})
    return value


def check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请填写事由。"), code="reason_required", details={"field": "reason"})
    if len(reason) > 300:
        raise InvalidInput(
            _("事由不能超过300字。"), code="reason_too_long", details={"field": "reason"}
        )
    return reason


# ---------------------------------------------------------------------------------------------
# Accounts


def _get_or_create(lookup: dict[str, Any], defaults: dict[str, Any]) -> Account:
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(**lookup, **defaults)
    except IntegrityError:  # created concurrently
        return Account.objects.get(**lookup)


def resident_account(person: Person, point_kind: str = PointKind.VOLUNTEER) -> Account:
    return _get_or_create(
        {"kind": AccountKind.RESIDENT, "person": person, "point_kind": point_kind},
        {"name": person.masked_name, "region_code": person.region_code},
    )


def pool_account(region_code: str, point_kind: str = PointKind.VOLUNTEER) -> Account:
    """The pool of a community (12 digits) or township (9 digits)."""

    name = Region.objects.filter(code=region_code).values_list("name", flat=True).first()
    return _get_or_create(
        {"kind": AccountKind.POOL, "region_code": region_code, "point_kind": point_kind},
        {"name": _("%(name)s积分池") % {"name": name or region_code}},
    )


def store_account(store: Store, point_kind: str = PointKind.VOLUNTEER) -> Account:
    return _get_or_create(
        {"kind": AccountKind.STORE, "store": store, "point_kind": point_kind},
        {"name": store.name, "region_code": store.region_code},
    )


def merchant_account(merchant: Merchant, point_kind: str = PointKind.VOLUNTEER) -> Account:
    return _get_or_create(
        {"kind": AccountKind.MERCHANT, "merchant": merchant, "point_kind": point_kind},
        {"name": merchant.name, "region_code": merchant.region_code},
    )


def issuer_account(point_kind: str = PointKind.VOLUNTEER) -> Account:
    return _get_or_create(
        {"kind": AccountKind.ISSUER, "point_kind": point_kind},
        {"name": _("积分发行（外部资金）"), "region_code": settings.SHEQU_CITY_CODE},
    )


def escrow_account(task: Task) -> Account:
    return _get_or_create(
        {"kind": AccountKind.ESCROW, "task": task},
        {
            "name": _("任务托管：%(title)s") % {"title": task.title[:80]},
            "region_code": task.region_code,
            "point_kind": task.point_kind,
        },
    )


def lock_accounts(accounts: Iterable[Account]) -> dict[int, Account]:
    """Lock rows FOR UPDATE in primary-key order; returns fresh copies by id."""
    ids = sorted({a.pk for a in accounts})
    return {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


# ---------------------------------------------------------------------------------------------
# Posting


@dataclass(frozen=True)
class Leg:
    account: Account
    amount: int


def transfer_post(
    *,
    key: str,
    kind: str,
    reason: str,
    legs: Sequence[tuple[Account, int]],
    actor: Actor = None,
    region_code: str = "",
) -> Transfer:
    """Post one transfer. Raises InvalidInput, InsufficientPoints or DuplicateTransfer; on any
    error nothing is written."""
    reason = check_reason(reason)
    key = (key or "").strip()
    if not key or len(key) > 200:
        raise InvalidInput(_("转账缺少幂等键。"), code="invalid_key")
    steps = [Leg(account, amount) for account, amount in legs]
    if len(steps) < 2:
        raise InvalidInput(_("一笔转账至少有两条分录。"), code="invalid_transfer")
    for leg in steps:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int) or leg.amount == 0:
            raise InvalidInput(_("分录金额必须是非零整数。"), code="invalid_amount")
    if sum(leg.amount for leg in steps) != 0:
        raise InvalidInput(_("分录合计必须为零。"), code="unbalanced_transfer")
    point_kinds = {leg.account.point_kind for leg in steps}
    if len(point_kinds) != 1:
        raise InvalidInput(_("一笔转账只能使用一种积分。"), code="mixed_point_kinds")
    amount = sum(leg.amount for leg in steps if leg.amount > 0)
    at = clock.now()

    # Per account (in primary-key order, so two transfers never wait on each other in a cycle):
    # its change, and the lowest its running balance dips below the starting one (the legs are
    # checked one after another, as they are written).
    deltas: dict[int, int] = {}
    dips: dict[int, int] = {}
    for leg in steps:
        pk = leg.account.pk
        deltas[pk] = deltas.get(pk, 0) + leg.amount
        dips[pk] = min(dips.get(pk, 0), deltas[pk])

    with transaction.atomic():
        # One statement per account locks its row, checks the balance and changes it; the row
        # stays locked until commit. Rows are held from here to the end, so this comes last
        # before the writes (hot rows such as a store's account are held briefly).
        before = {}
        for pk in sorted(deltas):
            balance = _apply(pk, deltas[pk], dips[pk])
            if balance is None:
                account = Account.objects.get(pk=pk)
                raise InsufficientPoints(
                    _("%(name)s积分余额不足（余额 %(balance)s，需要 %(need)s）。")
                    % {"name": account.name, "balance": account.balance, "need": -dips[pk]},
                    details={"account": pk, "balance": account.balance},
                )
            before[pk] = balance - deltas[pk]
        running = dict(before)
        entries = []
        for leg in steps:
            running[leg.account.pk] += leg.amount
            entries.append(
                Entry(
                    account_id=leg.account.pk,
                    amount=leg.amount,
                    balance_after=running[leg.account.pk],
                    created_at=at,
                )
            )
        try:
            # No savepoint of its own: a duplicate key ends this atomic block (and with it the
            # balance changes above) — one round trip less while the rows are locked.
            transfer = Transfer.objects.create(
                key=key,
                kind=kind,
                point_kind=point_kinds.pop(),
                amount=amount,
                reason=reason,
                region_code=region_code or steps[0].account.region_code,
                actor=actor if actor is not None and actor.is_authenticated else None,
                created_at=at,
            )
        except IntegrityError:
            raise DuplicateTransfer(
                _("该笔积分已记账，不会重复入账。"), details={"key": key}
            ) from None
        for entry in entries:
            entry.transfer = transfer
        Entry.objects.bulk_create(entries)
    return transfer


def _apply(pk: int, delta: int, dip: int) -> int | None:
    """Add `delta` to the account's balance unless its running balance would go below zero
    (the issuer may); the new balance, or None when refused. Locks the row until commit."""
    table = Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = balance + %s "  # noqa: S608 - table from the model
            "WHERE id = %s AND (balance + %s >= 0 OR kind = %s) RETURNING balance",
            [delta, pk, dip, AccountKind.ISSUER],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def transfer_exists(key: str) -> bool:
    return Transfer.objects.filter(key=key).exists()


# ---------------------------------------------------------------------------------------------
# Verification


@dataclass
class Violation:
    rule: str
    subject: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject} expected {self.expected}, found {self.actual}"


def ledger_violations(*, account_ids: Iterable[int] | None = None) -> list[Violation]:
    """Recompute balances from entries and check every transfer; [] when the ledger is exact.

    Checks: each transfer's entries sum to zero and number at least two, and add up to the
    transfer's amount; each account's balance equals the sum of its entries; only the issuer is
    below zero; every entry's account holds the transfer's kind of points.
    """
    violations: list[Violation] = []
    accounts = Account.objects.all()
    entries = Entry.objects.all()
    if account_ids is not None:
        ids = list(account_ids)
        accounts = accounts.filter(pk__in=ids)
        entries = entries.filter(account_id__in=ids)
    sums = dict(
        entries.values("account_id").annotate(s=Sum("amount")).values_list("account_id", "s")
    )
    for pk, kind, balance in accounts.values_list("pk", "kind", "balance").iterator(10_000):
        recomputed = sums.get(pk) or 0
        if recomputed != balance:
            violations.append(
                Violation("balance_equals_entries", f"account {pk}", recomputed, balance)
            )
        if balance < 0 and kind != AccountKind.ISSUER:
            violations.append(Violation("balance_non_negative", f"account {pk}", ">= 0", balance))
    if account_ids is None:
        violations.extend(_transfer_violations())
    return violations


def _transfer_violations() -> list[Violation]:
    violations = []
    entry_table = Entry._meta.db_table
    transfer_table = Transfer._meta.db_table
    account_table = Account._meta.db_table
    with connection.cursor() as cursor:
        # One pass over the entries, grouped by transfer (the transfer_id index gives the order).
        cursor.execute(
            f"""
            SELECT t.id, t.amount, s.total, s.positive, s.legs
            FROM {transfer_table} t
            LEFT JOIN (
                SELECT transfer_id,
                       SUM(amount) AS total,
                       SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS positive,
                       COUNT(*) AS legs
                FROM {entry_table} GROUP BY transfer_id
            ) s ON s.transfer_id = t.id
            WHERE s.transfer_id IS NULL OR s.total <> 0 OR s.legs < 2 OR s.positive <> t.amount
            LIMIT 1000
            """  # noqa: S608 - table names come from the models
        )
        for pk, amount, total, positive, legs in cursor.fetchall():
            if total is None:
                violations.append(Violation("transfer_has_entries", f"transfer {pk}", ">= 2", 0))
                continue
            if total != 0:
                violations.append(Violation("entries_sum_zero", f"transfer {pk}", 0, total))
            if legs < 2:
                violations.append(Violation("transfer_has_entries", f"transfer {pk}", ">= 2", legs))
            if positive != amount:
                violations.append(
                    Violation("amount_matches_entries", f"transfer {pk}", amount, positive)
                )
        cursor.execute(
            f"""
            SELECT e.id FROM {entry_table} e
            JOIN {transfer_table} t ON t.id = e.transfer_id
            JOIN {account_table} a ON a.id = e.account_id
            WHERE a.point_kind <> t.point_kind
            LIMIT 1000
            """  # noqa: S608
        )
        for (pk,) in cursor.fetchall():
            violations.append(Violation("single_point_kind", f"entry {pk}", "same kind", "mixed"))
    return violations


def ledger_totals() -> dict[str, int]:
    """Counts and the grand total (always 0 when the ledger is exact)."""
    totals = Entry.objects.aggregate(entries=Count("id"), total=Sum("amount"))
    return {
        "transfers": Transfer.objects.count(),
        "entries": totals["entries"],
        "sum": totals["total"] or 0,
    }
