"""The ledger's bulk path for `seed_demo --scale medium|city`: years of points history for
every community, written straight into the ledger tables (PostgreSQL COPY, batched INSERTs on
SQLite) instead of through the services, so that ≈ 2,000,000 entries take minutes, not hours.

The history is simulated in Python, in time order, with the same rules the services enforce:

- every community with volunteers gets a points pool, funded each quarter by the issuer
  (市级资金 / 镇街资金 / 共建单位, with a FundingRecord) for what its volunteers will earn, and
  topped up when a quarter runs short, so no pool goes below zero;
- a volunteer subset of the registry's residents (≈ 17.5 %, a few very active, most
  occasional) earns rewards pool → resident, more at weekends than on weekdays, growing over
  the years;
- residents redeem at their community's 爱心超市 (Monday to Saturday, opening hours) resident →
  store, only what their balance covers.

Ids are allocated in that order, so each entry's `balance_after` is its account's running
balance in id order, computed at INSERT time (the ledger tables refuse UPDATE). Account
balances are then set from the sum of the new entries. Tasks, claims and store orders are not
generated here: the small-scale history (written through the services) shows those.
"""

import bisect
import datetime as dt
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.core.management.color import no_style
from django.db import connection
from django.utils import timezone

from shequ.core.masking import mask_name
from shequ.geo.models import Region
from shequ.people.models import Person
from shequ.points import ledger
from shequ.points.choices import AccountKind, FunderKind, PointKind, TransferKind
from shequ.points.models import Account, Entry, FundingRecord, Store, Transfer

ENTRIES = {"medium": 200_000, "city": 2_000_000}
VOLUNTEER_SHARE = 0.175
YEARS = 5
REWARD_SHARE = 0.68  # of the non-funding transfers; the rest are redemption attempts

# (title, points): the point table of the services' demo tasks
REWARDS = [
    ("探访独居老人", 15),
    ("陪同残疾人就医", 15),
    ("邻里纠纷调解", 5),
    ("楼道杂物清理", 8),
    ("垃圾分类督导", 6),
    ("文明劝导：电动车规范停放", 6),
    ("夜间平安巡逻", 10),
    ("社区广场舞活动保障", 5),
    ("便民理发服务", 10),
    ("反诈宣传进小区", 6),
    ("为高龄老人代购药品", 10),
    ("雨后积水清理", 8),
]
# (item, price): cheaper goods are chosen more often
ITEMS = [
    ("香皂", 5),
    ("毛巾", 8),
    ("香醋 500ml", 10),
    ("牙膏", 10),
    ("挂面 1kg", 12),
    ("酱油 500ml", 12),
    ("洗洁精", 12),
    ("社区食堂午餐券", 12),
    ("抽纸 6包", 15),
    ("理发服务券", 15),
    ("鸡蛋 一盒(10枚)", 18),
    ("老花镜", 20),
    ("充电手电筒", 25),
    ("洗衣液 2kg", 30),
    ("折叠雨伞", 30),
    ("保温杯", 40),
    ("食用油 1.8L", 50),
    ("大米 5kg", 60),
]
ITEM_WEIGHTS = [1 / math.sqrt(price) for _name, price in ITEMS]
FUNDERS = [
    (FunderKind.CITY, "丹阳市民政局（示例）"),
    (FunderKind.TOWNSHIP, "镇（街道）社会事业局（示例）"),
    (FunderKind.PARTNER, "丹阳农商银行（示例）"),
    (FunderKind.DONATION, "爱心企业联合捐赠（示例）"),
]
# weekday (Monday = 0) weights: volunteering peaks at weekends; the store closes on Sunday
REWARD_DAYS = [0.8, 0.8, 0.85, 0.85, 0.9, 1.7, 1.4]
REDEEM_DAYS = [1.0, 0.9, 0.9, 0.9, 1.0, 1.4, 0.0]
REWARD_HOURS = [(10, 3), (11, 4), (16, 3), (17, 4), (20, 2)]  # (hour the service ends, weight)
REDEEM_HOURS = [(9, 2), (10, 4), (11, 3), (14, 2), (15, 3), (16, 3)]

TRANSFER_COLUMNS = (
    "id",
    "key",
    "kind",
    "point_kind",
    "amount",
    "reason",
    "region_code",
    "created_at",
)
ENTRY_COLUMNS = ("id", "transfer_id", "account_id", "amount", "balance_after", "created_at")
CHUNK = 50_000  # transfers per write


def _cumulative(weights: Iterable[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _quarter(moment: dt.datetime) -> tuple[int, int]:
    return moment.year, (moment.month - 1) // 3


def _quarter_start(key: tuple[int, int]) -> dt.date:
    return dt.date(key[0], key[1] * 3 + 1, 1)


class _Planner:
    """Draws the event stream (rewards and redemption attempts) before the simulation."""

    def __init__(self, rng: random.Random, start: dt.date, end: dt.date):
        self.rng = rng
        span = (end - start).days
        self.days = [start + dt.timedelta(days=i) for i in range(span)]

        def trend(i):  # participation grows over the years
            return 0.6 + 0.8 * i / max(1, span)

        self.reward_cum = _cumulative(
            REWARD_DAYS[d.weekday()] * trend(i) for i, d in enumerate(self.days)
        )
        self.redeem_cum = _cumulative(
            REDEEM_DAYS[d.weekday()] * trend(i) for i, d in enumerate(self.days)
        )
        self.reward_hours = _cumulative(w for _h, w in REWARD_HOURS)
        self.redeem_hours = _cumulative(w for _h, w in REDEEM_HOURS)

    def _moment(self, day_cum, hour_cum, hours) -> dt.datetime:
        rng = self.rng
        day = self.days[bisect.bisect_left(day_cum, rng.random() * day_cum[-1])]
        hour = hours[bisect.bisect_left(hour_cum, rng.random() * hour_cum[-1])][0]
        naive = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)))
        return timezone.make_aware(naive)

    def reward_moment(self) -> dt.datetime:
        return self._moment(self.reward_cum, self.reward_hours, REWARD_HOURS)

    def redeem_moment(self) -> dt.datetime:
        return self._moment(self.redeem_cum, self.redeem_hours, REDEEM_HOURS)


def seed_ledger(
    *,
    rng: random.Random,
    target_entries: int,
    exclude_prefixes: Iterable[str] = (),
    now: dt.datetime | None = None,
    years: int = YEARS,
    volunteer_share: float = VOLUNTEER_SHARE,
    log: Callable[[str], None] = print,
) -> dict:
    """Append ≈ `target_entries` ledger entries of realistic history; returns counts and seconds.

    Residents, pools and stores of regions whose code starts with one of `exclude_prefixes`
    (the flagship community, whose history the services write) are left alone.
    """

    started = time.perf_counter()
    excluded = tuple(exclude_prefixes)
    now = now or timezone.now()
    end = timezone.localtime(now).date()
    start = end - dt.timedelta(days=round(365.25 * years))

    # --- volunteers: a subset of the registry's active residents ---------------------------
    volunteers: list[tuple[int, str, str]] = []  # (person id, masked name, grid code)
    taken = set(
        Account.objects.filter(
            kind=AccountKind.RESIDENT, point_kind=PointKind.VOLUNTEER
        ).values_list("person_id", flat=True)
    )
    rows = (
        Person.objects.filter(status="active")
        .order_by("id")
        .values_list("id", "name", "region_code")
    )
    for pk, name, grid in rows.iterator(chunk_size=20_000):
        if pk in taken or (excluded and grid.startswith(excluded)):
            continue
        if rng.random() < volunteer_share:
            volunteers.append((pk, mask_name(name), grid))
    if not volunteers:
        log("    points bulk: no residents outside the flagship, nothing to add")
        return {"transfers": 0, "entries": 0, "volunteers": 0, "communities": 0, "seconds": 0.0}
    communities = sorted({grid[:12] for _pk, _name, grid in volunteers})
    names = dict(Region.objects.filter(code__in=communities).values_list("code", "name"))
    townships = dict(
        Region.objects.filter(code__in=communities).values_list("code", "parent__name")
    )
    seen: defaultdict[str, int] = defaultdict(int)
    for name in names.values():
        seen[name] += 1
    # Store names are unique: a village name that recurs in two townships gets its township.
    store_names = {
        code: f"{name}爱心超市" if seen[name] == 1 else f"{name}爱心超市（{townships[code]}）"
        for code, name in names.items()
    }
    repeated: defaultdict[str, int] = defaultdict(int)
    for name in store_names.values():
        repeated[name] += 1
    store_names = {
        code: name if repeated[name] == 1 else f"{name}{code}" for code, name in store_names.items()
    }

    # --- accounts: a pool and a store per community, one account per volunteer -------------
    issuer = ledger.issuer_account(PointKind.VOLUNTEER)
    found: dict[str, Account | None] = {}
    for code in communities:
        existing = Account.objects.filter(
            kind=AccountKind.POOL, region_code=code, point_kind=PointKind.VOLUNTEER
        ).first()
        found[code] = existing
    Account.objects.bulk_create(
        [
            Account(
                kind=AccountKind.POOL,
                point_kind=PointKind.VOLUNTEER,
                name=f"{names.get(code, code)}积分池",
                region_code=code,
            )
            for code, account in found.items()
            if account is None
        ],
        batch_size=2000,
    )
    pools = {
        a.region_code: a
        for a in Account.objects.filter(
            kind=AccountKind.POOL, point_kind=PointKind.VOLUNTEER, region_code__in=communities
        )
    }
    have_store = set(
        Store.objects.filter(region_code__in=communities).values_list("region_code", flat=True)
    )
    Store.objects.bulk_create(
        [
            Store(
                name=store_names.get(code, f"{code}爱心超市"),
                region_code=code,
                address=f"{names.get(code, code)}党群服务中心（示例）",
                opening_hours="周一至周六 9:00–17:00",
            )
            for code in communities
            if code not in have_store
        ],
        batch_size=2000,
    )
    stores: dict[str, Store] = {}
    for store in Store.objects.filter(region_code__in=communities).order_by("region_code", "id"):
        stores.setdefault(store.region_code, store)
    have_account = set(
        Account.objects.filter(kind=AccountKind.STORE, store__in=stores.values()).values_list(
            "store_id", flat=True
        )
    )
    Account.objects.bulk_create(
        [
            Account(
                kind=AccountKind.STORE,
                point_kind=PointKind.VOLUNTEER,
                name=store.name,
                region_code=code,
                store=store,
            )
            for code, store in stores.items()
            if store.pk not in have_account
        ],
        batch_size=2000,
    )
    store_accounts = {
        a.region_code: a.pk
        for a in Account.objects.filter(
            kind=AccountKind.STORE, point_kind=PointKind.VOLUNTEER, store__in=stores.values()
        ).order_by("id")
    }
    Account.objects.bulk_create(
        [
            Account(
                kind=AccountKind.RESIDENT,
                point_kind=PointKind.VOLUNTEER,
                name=masked,
                region_code=grid,
                person_id=pk,
            )
            for pk, masked, grid in volunteers
        ],
        batch_size=5000,
    )
    resident_accounts = dict(
        Account.objects.filter(
            kind=AccountKind.RESIDENT,
            point_kind=PointKind.VOLUNTEER,
            person_id__in=[pk for pk, _m, _g in volunteers],
        ).values_list("person_id", "id")
        if len(volunteers) < 30_000
        else Account.objects.filter(kind=AccountKind.RESIDENT, point_kind=PointKind.VOLUNTEER)
        .values_list("person_id", "id")
        .iterator(chunk_size=20_000)
    )
    log(
        f"    points bulk: {len(volunteers):,} volunteers in {len(communities):,} communities, "
        f"{start} – {end}"
    )

    # --- the event stream ------------------------------------------------------------------
    planner = _Planner(rng, start, end)
    rng.shuffle(volunteers)  # activity rank: a few very active volunteers, most occasional
    # events (one transfer each) after the quarterly fundings, so the total lands near the target
    count = max(1, target_entries // 2 - len(communities) * (years * 4 + 1))
    reward_cum = _cumulative([1.0] * len(REWARDS))
    item_cum = _cumulative(ITEM_WEIGHTS)
    events = []  # (moment, volunteer index, is_reward, choice index)
    planned: defaultdict[tuple[str, tuple[int, int]], int] = defaultdict(
        int
    )  # (community, quarter) -> reward points
    n_vol = len(volunteers)
    for _ in range(count):
        who = min(n_vol - 1, int(n_vol * rng.random() ** 2.2))
        if rng.random() < REWARD_SHARE:
            moment = planner.reward_moment()
            choice = bisect.bisect_left(reward_cum, rng.random() * reward_cum[-1])
            events.append((moment, who, True, choice))
            planned[(volunteers[who][2][:12], _quarter(moment))] += REWARDS[choice][1]
        else:
            moment = planner.redeem_moment()
            choice = bisect.bisect_left(item_cum, rng.random() * item_cum[-1])
            events.append((moment, who, False, choice))
    events.sort(key=lambda e: (e[0], e[1]))
    funding_plan = defaultdict(list)  # quarter -> [(community, amount)]
    for (code, quarter), points in sorted(planned.items()):
        funding_plan[quarter].append((code, math.ceil(points * 1.05 / 100) * 100))

    # --- simulate and write ----------------------------------------------------------------
    writer = _Writer(connection.vendor)
    balances = defaultdict(int)
    balances[issuer.pk] = issuer.balance
    for account in pools.values():
        balances[account.pk] = account.balance
    pool_ids = {code: account.pk for code, account in pools.items()}
    fundings = []  # (transfer id, pool id, community, funder kind, funder name, amount, when)
    funded_quarters: set = set()
    key_prefix = f"demo-bulk:{rng.randrange(10**9):09d}"

    def post(kind, amount, reason, region, when, debit, credit):
        tid = writer.next_transfer()
        writer.transfer(
            (tid, f"{key_prefix}:{tid}", kind, PointKind.VOLUNTEER, amount, reason, region, when)
        )
        balances[debit] -= amount
        writer.entry((tid, debit, -amount, balances[debit], when))
        balances[credit] += amount
        writer.entry((tid, credit, amount, balances[credit], when))
        return tid

    def fund(code, amount, when, reason, funder):
        tid = post(TransferKind.FUNDING, amount, reason, code, when, issuer.pk, pool_ids[code])
        fundings.append((tid, pool_ids[code], code, funder[0], funder[1], amount, when))

    quarters = 0
    for moment, who, is_reward, choice in events:
        quarter = _quarter(moment)
        if quarter not in funded_quarters:
            funded_quarters.add(quarter)
            day = max(_quarter_start(quarter), start)
            when = timezone.make_aware(dt.datetime.combine(day, dt.time(9)))
            funder = FUNDERS[quarters % 3]
            quarters += 1
            for code, amount in funding_plan.get(quarter, ()):
                fund(code, amount, when, f"季度积分注资：{funder[1]}", funder)
        person, _masked, grid = volunteers[who]
        code = grid[:12]
        account_id = resident_accounts[person]
        if not is_reward:
            balance = balances[account_id]
            name, price = ITEMS[choice]
            if price > balance:
                affordable = [item for item in ITEMS if item[1] <= balance]
                if affordable:
                    name, price = affordable[-1]
            if price <= balance:
                post(
                    TransferKind.REDEMPTION,
                    price,
                    f"爱心超市兑换：{name}",
                    grid,
                    moment,
                    account_id,
                    store_accounts[code],
                )
                continue
            # nothing affordable yet: the resident volunteers instead
            choice = rng.randrange(len(REWARDS))
        title, points = REWARDS[choice]
        pool = pool_ids[code]
        if balances[pool] < points:
            top_up = max(100, math.ceil(points / 100) * 100)
            fund(code, top_up, moment, f"追加注资：{FUNDERS[3][1]}", FUNDERS[3])
        post(TransferKind.REWARD, points, f"志愿服务：{title}", grid, moment, pool, account_id)
    writer.close()

    FundingRecord.objects.bulk_create(
        [
            FundingRecord(
                pool_id=pool,
                funder_kind=kind,
                funder_name=name,
                amount=amount,
                yuan=Decimal(amount) / 10,
                note="演示数据（批量生成）",
                transfer_id=tid,
                region_code=code,
                created_at=when,
            )
            for tid, pool, code, kind, name, amount, when in fundings
        ],
        batch_size=5000,
    )
    _set_balances(writer.first_entry)
    seconds = time.perf_counter() - started
    log(
        f"    points bulk: {writer.transfers:,} transfers, {writer.entries:,} entries "
        f"({len(fundings):,} fundings) in {seconds:.1f} s"
    )
    return {
        "transfers": writer.transfers,
        "entries": writer.entries,
        "volunteers": len(volunteers),
        "communities": len(communities),
        "seconds": seconds,
    }


def _set_balances(first_entry: int) -> None:
    """Add the new entries to their accounts' balances (one statement on both databases)."""
    entry, account = Entry._meta.db_table, Account._meta.db_table
    with connection.cursor() as cursor:
        sql = (
            f"UPDATE {account} SET balance = {account}.balance + s.total FROM ("  # noqa: S608
            f"SELECT account_id, SUM(amount) AS total FROM {entry} WHERE id >= %s "
            f"GROUP BY account_id) AS s WHERE s.account_id = {account}.id"
        )
        cursor.execute(sql, [first_entry])
        for table in (Transfer, Entry, Account, FundingRecord):
            cursor.execute(f"ANALYZE {table._meta.db_table}")


class _Writer:
    """Allocates ids after the current maximum and writes rows in chunks (COPY on PostgreSQL,
    executemany on SQLite); resets the sequences at the end."""

    def __init__(self, vendor: str):
        self.vendor = vendor
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Transfer._meta.db_table}")  # noqa: S608
            self.last_transfer = cursor.fetchone()[0]
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Entry._meta.db_table}")  # noqa: S608
            self.last_entry = cursor.fetchone()[0]
            if vendor == "postgresql":
                # Check foreign keys row by row rather than queueing millions of deferred events.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        self.first_entry = self.last_entry + 1
        self.transfer_rows: list[tuple] = []
        self.entry_rows: list[tuple] = []
        self.transfers = self.entries = 0

    def next_transfer(self) -> int:
        self.last_transfer += 1
        return self.last_transfer

    def transfer(self, row: tuple) -> None:
        self.transfer_rows.append(row)
        self.transfers += 1

    def entry(self, row: tuple) -> None:
        self.last_entry += 1
        self.entry_rows.append((self.last_entry, *row))
        self.entries += 1
        if len(self.entry_rows) >= 2 * CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.transfer_rows:
            return
        self._write(Transfer._meta.db_table, TRANSFER_COLUMNS, self.transfer_rows)
        self._write(Entry._meta.db_table, ENTRY_COLUMNS, self.entry_rows)
        self.transfer_rows, self.entry_rows = [], []

    def _write(self, table: str, columns: tuple, rows: list[tuple]) -> None:
        names = ", ".join(columns)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            adapt = connection.ops.adapt_datetimefield_value
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608 - model tables
                [(*row[:-1], adapt(row[-1])) for row in rows],
            )

    def close(self) -> None:
        self.flush()
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Transfer, Entry]):
                    cursor.execute(sql)
