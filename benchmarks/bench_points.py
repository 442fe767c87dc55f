"""Points benchmarks: redemptions per second under concurrency, and verify_ledger on a big ledger.

  python benchmarks/bench_points.py [--scale small|medium|city] [--db postgres|sqlite]
                                    [--concurrency 32] [--per-thread 40]
                                    [--mode both|threads|processes] [--entries 10000000]
                                    [--skip-redeem] [--skip-verify]

redeem: `--concurrency` clients — threads in one process, and forked processes with one database
connection each (like gunicorn workers) — each with its own buyers, call the redemption service
(the one the pages and the API use) as fast as they can against one store; redemptions/s =
successful orders / wall time. After the run the ledger is verified (sum zero, balances equal entries), no
resident or pool balance may be negative and the store must reconcile (账物相符) — any
violation fails the metric. A single-thread run is the reference.

verify: bulk-generates synthetic transfers with SQL (issuer → one of 10,000 synthetic pools, two
entries each) until the ledger holds `--entries` entries, then times `ledger_violations()` (what
`manage.py verify_ledger` runs). The data lives in a dedicated database (PostgreSQL:
shequ_points_bench; SQLite: var/bench/points-sqlite/), never the demo's.
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, _ensure_pg_database, metric, print_table, save

BENCH_POOLS = 10_000


def configure(db: str) -> None:
    """Point Django at this benchmark's own database (migrated and seeded on first use)."""
    var = ROOT / "var" / "bench" / f"points-{db}"
    var.mkdir(parents=True, exist_ok=True)
    if db == "postgres":
        base = os.environ.get("SHEQU_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
        url = f"{base}/shequ_points_bench"
        _ensure_pg_database(url)
    else:
        url = f"sqlite:///{var}/bench.sqlite3"
    os.environ.update(SHEQU_ENV="demo", DATABASE_URL=url, SHEQU_VAR_DIR=str(var))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shequ.settings")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=dict(os.environ), check=True)
    subprocess.run([*manage, "seed_demo", "--if-empty"], env=dict(os.environ), check=True)
    import django

    django.setup()


# ---------------------------------------------------------------------------------------------
# Redemptions


def _setup_redemption(run: str, buyers: int, items: int):
    from shequ.accounts.models import User
    from shequ.core.crypto import hash_for
    from shequ.core.idnumbers import make_id_number
    from shequ.demo import danyang
    from shequ.people.models import Person
    from shequ.points import ledger
    from shequ.points.models import Store
    from shequ.points.services import store_item_create

    staff = User.objects.get(username="community")
    store = Store.objects.get(region_code=danyang.FLAGSHIP_CODE)
    grid = Person.objects.filter(user__username="resident").values_list("region_code", flat=True)[0]
    stock_items = [
        store_item_create(
            actor=staff,
            store=store,
            name=f"压测物品 {run}-{n}",
            price=5,
            monthly_limit=20,
            initial_stock=100_000,
        )
        for n in range(items)
    ]
    users = []
    from datetime import date, timedelta

    def _id_hash(number: str) -> str:
        hashed = hash_for("people.person", "id_number", number)
        assert hashed is not None  # a generated number is never empty
        return hashed

    for n in range(buyers):
        user = User.objects.create(username=f"bench-{run}-{n}", password="!")
        number = make_id_number(
            "321181", date(1960, 1, 1) + timedelta(days=n), 999 - (int(run) % 500)
        )
        if Person.objects.filter(id_number_hash=_id_hash(number)).exists():
            number = make_id_number("321181", date(1930, 1, 1) + timedelta(days=n), int(run) % 997)
        Person.objects.create(
            name=f"压测{n}",
            id_number=number,
            id_number_hash=_id_hash(number),
            gender="M",
            region_code=grid,
            user=user,
        )
        ledger.transfer_post(
            key=f"bench:{run}:{n}",
            kind="funding",
            reason="压测充值",
            legs=[
                (ledger.issuer_account(), -100_000),
                (ledger.resident_account(user.person), 100_000),
            ],
        )
        users.append(user.pk)
    return store, [i.pk for i in stock_items], users


def _one_run(threads: int, per_thread: int, mode: str) -> dict:
    from django.db import connections

    from shequ.accounts.models import User
    from shequ.core.errors import ServiceError
    from shequ.points.ledger import ledger_violations
    from shequ.points.models import Account, StoreItem
    from shequ.points.selectors import reconciliation
    from shequ.points.services import order_redeem

    run = str(int(time.time() * 1000) % 10**9)
    buyers_per_thread = max(1, per_thread // 20 + 1)
    store, item_ids, user_ids = _setup_redemption(run, threads * buyers_per_thread, 20)

    def worker(index: int, start_at: float) -> dict[str, int]:
        mine = user_ids[index * buyers_per_thread : (index + 1) * buyers_per_thread]
        users = [User.objects.get(pk=pk) for pk in mine]
        items = list(StoreItem.objects.select_related("store").filter(pk__in=item_ids))
        local: dict[str, int] = {}
        time.sleep(max(0.0, start_at - time.time()))
        for n in range(per_thread):
            user = users[n % len(users)]
            item = items[(n // len(users)) % len(items)]
            try:
                order_redeem(actor=user, item=item)
                key = "ok"
            except ServiceError as error:
                key = error.code
            except Exception as error:
                key = type(error).__name__
            local[key] = local.get(key, 0) + 1
        connections.close_all()
        return local

    start_at = time.time() + 3 + 0.3 * threads  # every client connected and ready
    if mode == "processes":
        # Like gunicorn workers: one process (and one connection) per concurrent client.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        results = context.Queue()

        def child(index: int) -> None:
            results.put(worker(index, start_at))

        children = [context.Process(target=child, args=(i,)) for i in range(threads)]
        for process in children:
            process.start()
        parts = [results.get() for _ in children]
        for process in children:
            process.join()
    else:
        with ThreadPoolExecutor(threads) as executor:
            parts = list(executor.map(worker, range(threads), [start_at] * threads))
    elapsed = time.time() - start_at
    outcome: dict[str, int] = {}
    for part in parts:
        for key, value in part.items():
            outcome[key] = outcome.get(key, 0) + value
    violations = ledger_violations()
    negative = Account.objects.filter(balance__lt=0).exclude(kind="issuer").count()
    matched = reconciliation(store)["matched"]
    print(
        f"  concurrency {threads} ({mode}): {outcome} in {elapsed:.1f} s; "
        f"violations={len(violations)} negative={negative} reconciled={matched}"
    )
    return {
        "ok": outcome.get("ok", 0),
        "outcome": outcome,
        "elapsed": elapsed,
        "violations": len(violations) + negative + (0 if matched else 1),
    }


def bench_redeem(concurrency: int, per_thread: int, mode: str, db: str) -> list[dict]:
    results = []
    for threads in sorted({1, concurrency}):
        run = _one_run(threads, per_thread * (4 if threads == 1 else 1), mode)
        measured = "ok" in run["outcome"]
        target = 300 if db == "postgres" and threads == concurrency else None
        row = metric(
            f"points.redeem.{mode}.c{threads}",
            run["ok"] / run["elapsed"] if measured else None,
            "orders/s",
            target=target,
            note=f"{run['ok']} orders, outcomes {run['outcome']}; "
            f"invariant violations {run['violations']}"
            + ("" if db == "postgres" else "; the target (≥ 300/s) applies to PostgreSQL"),
            higher_is_better=True,
        )
        if run["violations"]:  # a fast but wrong run is a failure, not a figure
            row["pass"] = False
        results.append(row)
    if len(results) == 2 and results[0]["value"] and results[1]["value"]:
        results[1]["reference"] = results[0]["value"]
        results[1]["ratio"] = results[1]["value"] / results[0]["value"]
    return results


def bench_hold_times(count: int = 200) -> list[dict]:
    """One client, `count` redemptions: statements, client CPU and how long the rows every
    resident of the store shares (the store's account, the item) stay locked — from the
    statement that locks them to the end of the commit. With all clients redeeming in one store
    the store-account hold bounds throughput at 1 / hold, whatever the number of cores."""
    import statistics

    from django.db import connection

    from shequ.accounts.models import User
    from shequ.points import ledger
    from shequ.points.models import StoreItem
    from shequ.points.services import order_redeem

    run = str(int(time.time() * 1000) % 10**9)
    store, item_ids, user_ids = _setup_redemption(run, 10, 20)
    store_account = ledger.store_account(store).pk
    users = [User.objects.get(pk=pk) for pk in user_ids]
    items = list(StoreItem.objects.select_related("store").filter(pk__in=item_ids))
    log: list[tuple[float, str, list]] = []

    def wrapper(execute, sql, params, many, context):
        log.append((time.perf_counter(), sql, list(params or [])))
        return execute(sql, params, many, context)

    for n in range(20):  # warm-up
        order_redeem(actor=users[n % 10], item=items[n % 20])
    statements, cpu, wall, store_held, item_held = [], [], [], [], []
    with connection.execute_wrapper(wrapper):
        for n in range(count):
            log.clear()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            order_redeem(actor=users[n % 10], item=items[(n // 10) % 20])
            end, cpu1 = time.perf_counter(), time.process_time()
            wall.append(end - wall0)
            cpu.append(cpu1 - cpu0)
            statements.append(len(log))
            store_held.append(
                end
                - next(
                    at
                    for at, sql, params in log
                    if "points_account" in sql
                    and store_account in params
                    and ("FOR UPDATE" in sql or sql.startswith("UPDATE"))
                )
            )
            item_held.append(
                end - next(at for at, sql, _p in log if sql.startswith('UPDATE "points_storeitem"'))
            )

    def ms(values):
        return statistics.median(values) * 1000

    held = ms(store_held)
    return [
        metric(
            "points.redeem.statements",
            statistics.median(statements),
            "statements",
            note="SQL statements per redemption besides BEGIN/COMMIT (median)",
        ),
        metric("points.redeem.wall_ms", ms(wall), "ms", note="one client, median"),
        metric("points.redeem.client_cpu_ms", ms(cpu), "ms", note="Python CPU per redemption"),
        metric(
            "points.redeem.store_account_held_ms",
            held,
            "ms",
            note=f"the store's account row locked until commit (median); "
            f"bounds one store at ≈ {1000 / held:.0f} redemptions/s",
        ),
        metric(
            "points.redeem.item_held_ms",
            ms(item_held),
            "ms",
            note="the item row locked until commit (median); bounds one item's redemptions",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# verify_ledger on a big ledger


def _generate(target_entries: int) -> float:
    """Add synthetic transfers until the ledger holds `target_entries` entries; seconds spent."""
    from django.db import connection

    from shequ.points import ledger
    from shequ.points.models import Account, Entry

    existing = Entry.objects.count()
    missing_transfers = max(0, (target_entries - existing) // 2)
    if not missing_transfers:
        return 0.0
    started = time.perf_counter()
    issuer = ledger.issuer_account()
    have = Account.objects.filter(kind="pool", region_code__startswith="9").count()
    Account.objects.bulk_create(
        [
            Account(
                kind="pool", point_kind="volunteer", name=f"压测积分池{n}", region_code=f"9{n:014d}"
            )
            for n in range(have, BENCH_POOLS)
        ],
        batch_size=5000,
    )
    first_pool = (
        Account.objects.filter(kind="pool", region_code__startswith="9").order_by("pk")[0].pk
    )
    offset = Entry.objects.filter(transfer__key__startswith="bulk:").count() // 2
    chunk = 1_000_000
    with connection.cursor() as cursor:
        done = 0
        while done < missing_transfers:
            lo = offset + done + 1
            hi = offset + min(done + chunk, missing_transfers)
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM points_transfer")
            before = cursor.fetchone()[0]
            cursor.execute(_insert_transfers_sql(connection.vendor, lo, hi))
            cursor.execute(_insert_entries_sql(before, issuer.pk, first_pool))
            done += hi - (offset + done)
            print(f"    generated {done:,}/{missing_transfers:,} transfers")
        cursor.execute(
            """UPDATE points_account SET balance = s.total FROM (
                   SELECT account_id, SUM(amount) AS total FROM points_entry GROUP BY account_id
               ) s WHERE s.account_id = points_account.id AND points_account.balance <> s.total"""
            if connection.vendor == "postgresql"
            else """UPDATE points_account SET balance = (
                   SELECT COALESCE(SUM(amount), 0) FROM points_entry WHERE account_id = points_account.id)"""
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _insert_transfers_sql(vendor: str, lo: int, hi: int) -> str:
    columns = "key, kind, point_kind, amount, reason, region_code, created_at"
    values = (
        "'bulk:' || g, 'funding', 'volunteer', 1 + g % 5, '压测数据', '321181', CURRENT_TIMESTAMP"
    )
    if vendor == "postgresql":
        return f"INSERT INTO points_transfer ({columns}) SELECT {values} FROM generate_series({lo}, {hi}) AS g"
    return (
        f"WITH RECURSIVE s(g) AS (SELECT {lo} UNION ALL SELECT g + 1 FROM s WHERE g < {hi}) "
        f"INSERT INTO points_transfer ({columns}) SELECT {values} FROM s"
    )


def _insert_entries_sql(after_id: int, issuer: int, first_pool: int) -> str:
    """Two entries per new bulk transfer: the issuer pays, one of the synthetic pools receives."""
    pool = f"{first_pool} + (t.amount * 7919 + t.id) % {BENCH_POOLS}"
    return (
        "INSERT INTO points_entry (transfer_id, account_id, amount, balance_after, created_at) "
        f"SELECT t.id, {issuer}, -t.amount, 0, t.created_at FROM points_transfer t WHERE t.id > {after_id} "
        "UNION ALL "
        f"SELECT t.id, {pool}, t.amount, 0, t.created_at FROM points_transfer t WHERE t.id > {after_id}"
    )


def bench_verify(entries: int) -> list[dict]:
    from shequ.points.ledger import ledger_totals, ledger_violations

    generated = _generate(entries)
    totals = ledger_totals()
    print(
        f"  ledger: {totals['transfers']:,} transfers, {totals['entries']:,} entries "
        f"(generation {generated:.0f} s)"
    )
    samples = []
    for _ in range(2):
        started = time.perf_counter()
        violations = ledger_violations()
        samples.append(time.perf_counter() - started)
    return [
        metric("points.verify_ledger.entries", totals["entries"], "entries"),
        metric(
            "points.verify_ledger.seconds",
            min(samples) if not violations else None,
            "s",
            note=f"best of {len(samples)}; {totals['entries']:,} entries; violations {len(violations)}",
        ),
        metric(
            "points.verify_ledger.entries_per_s",
            totals["entries"] / min(samples) if not violations else None,
            "entries/s",
            higher_is_better=True,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=("small", "medium", "city"), default="small")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--per-thread", type=int, default=None, help="default 40 (small: 10)")
    parser.add_argument("--mode", choices=("both", "processes", "threads"), default="both")
    parser.add_argument("--entries", type=int, default=None, help="ledger size for verify")
    parser.add_argument("--skip-redeem", action="store_true")
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args()
    small = args.scale == "small"
    per_thread = args.per_thread or (10 if small else 40)
    entries = (
        args.entries or {"small": 200_000, "medium": 1_000_000, "city": 10_000_000}[args.scale]
    )
    configure(args.db)
    metrics = []
    if not args.skip_redeem:
        if args.db == "postgres":
            metrics += bench_hold_times()
        for mode in ("threads", "processes") if args.mode == "both" else (args.mode,):
            metrics += bench_redeem(args.concurrency, per_thread, mode, args.db)
    if not args.skip_verify:
        metrics += bench_verify(entries)
    print_table(metrics)
    print("saved", save("points", args.scale, args.db, metrics))


if __name__ == "__main__":
    main()
