"""Demo data for the points platform: pools and their funding, a year of ledger history written
through the ordinary services (so every balance is exact), tasks in every state, the flagship
community's 爱心超市 with ≈20 items, three partner merchants, and a `resident` who has a balance
and can redeem.

Volunteers are Persons of the flagship community's first two grids. When the registry's demo
data exists (people seeder, order 30) they are taken from it, and `resident` is the Person
linked to the demo `resident` login. Without it (the registry's seeder is not on every branch
yet) a few Persons are created here through the registry's models — a fallback to remove once
the registry's seeder has landed.
"""

import contextlib
import time as timer
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from shequ.accounts.models import Assignment, User
from shequ.accounts.services import user_create
from shequ.core.crypto import hash_for
from shequ.core.errors import ConflictError
from shequ.core.idnumbers import make_id_number
from shequ.core.roles import Role
from shequ.demo import danyang
from shequ.demo.names import person_name
from shequ.demo.seeding import SeedContext
from shequ.geo.models import Building, Region
from shequ.people.models import Person
from shequ.points import clock, demo_bulk, ledger, services
from shequ.points.choices import (
    ClaimStatus,
    FunderKind,
    PointKind,
    StockSource,
    TaskKind,
    TaskStatus,
)
from shequ.points.demo_images import item_picture
from shequ.points.models import Claim, Entry, Merchant, Order, PointsRule, Store, Task, Transfer

SEED_ORDER = 50
VOLUNTEERS = 40
# small scale, every other community/village: volunteers, tasks over the year, store items
SPREAD_VOLUNTEERS = 5
SPREAD_TASKS = 1
SPREAD_ITEMS = 8

# (title, category, points, hours) — point table after 湘潭 practice (care visit 15, mediation 5…)
TASKS = [
    ("探访独居老人", "care", 15, "2"),
    ("陪同残疾人就医", "care", 15, "3"),
    ("邻里纠纷调解", "mediation", 5, "1"),
    ("楼道杂物清理", "environment", 8, "2"),
    ("垃圾分类督导", "environment", 6, "2"),
    ("文明劝导：电动车规范停放", "civility", 6, "2"),
    ("夜间平安巡逻", "patrol", 10, "3"),
    ("社区广场舞活动保障", "culture", 5, "2"),
    ("便民理发服务", "service", 10, "3"),
    ("反诈宣传进小区", "civility", 6, "2"),
    ("为高龄老人代购药品", "care", 10, "1.5"),
    ("雨后积水清理", "environment", 8, "2"),
]
PARTY_TASKS = [
    ("党员先锋岗：疫苗接种点引导", "service", 10, "4"),
    ("党员先锋岗：防汛值守", "patrol", 12, "4"),
    ("主题党日：清理卫生死角", "environment", 8, "2"),
]
HELP_TASKS = [
    ("帮忙更换楼道灯泡", 5, "0.5"),
    ("周末帮忙照看老人半天", 12, "4"),
    ("帮忙搬运旧家具下楼", 8, "1"),
    ("教老人使用智能手机", 6, "1"),
]
# name, category, price (points), value (yuan), stock, monthly limit
ITEMS = [
    ("大米 5kg", "粮油", 60, "50.00", 40, 1),
    ("食用油 1.8L", "粮油", 50, "40.00", 30, 1),
    ("挂面 1kg", "粮油", 12, "10.00", 60, 4),
    ("鸡蛋 一盒(10枚)", "生鲜", 18, "15.00", 40, 2),
    ("酱油 500ml", "调味", 12, "9.90", 50, 2),
    ("香醋 500ml", "调味", 10, "8.50", 50, 2),
    ("洗衣液 2kg", "日化", 30, "25.00", 40, 2),
    ("洗洁精", "日化", 12, "9.90", 60, 2),
    ("抽纸 6包", "日化", 15, "12.00", 80, 2),
    ("牙膏", "日化", 10, "8.00", 60, 3),
    ("香皂", "日化", 5, "4.00", 100, 5),
    ("毛巾", "日用", 8, "6.50", 80, 3),
    ("保温杯", "日用", 40, "35.00", 20, 1),
    ("折叠雨伞", "日用", 30, "25.00", 25, 1),
    ("充电手电筒", "日用", 25, "20.00", 20, 1),
    ("老花镜", "日用", 20, "15.00", 15, 1),
    ("理发服务券", "服务券", 15, "15.00", 50, 1),
    ("家电维修服务券", "服务券", 30, "30.00", 20, 1),
    ("社区食堂午餐券", "服务券", 12, "10.00", 100, 4),
    ("儿童绘本", "文体", 20, "18.00", 0, 1),  # out of stock: shows 已兑完
]
DONORS = ["丹阳农商银行（示例）", "丹凤物业服务有限公司（示例）", "云阳供电所（示例）"]
MERCHANTS = [
    ("丹凤便民超市（示例）", "超市", "0.10", "每10积分抵1元，单次最多抵扣20元"),
    ("老街理发店（示例）", "理发", "0.10", "积分抵扣理发费，每次最多抵10元"),
    ("惠民大药房（示例）", "药店", "0.10", "每10积分抵1元（处方药除外）"),
]


def _aware(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _flagship(ctx: SeedContext) -> tuple[str, list[str]]:
    flagship = ctx.data.get("flagship_code", danyang.FLAGSHIP_CODE)
    grids = ctx.data.get("flagship_grids") or sorted(
        Region.objects.filter(code__startswith=flagship, level="grid").values_list(
            "code", flat=True
        )
    )
    return flagship, list(grids[:2])


def _fallback_person(rng, grid: str, used: set[str], *, name=None, user=None, party=False):
    """Create one Person through the registry's models (fallback while its seeder is absent)."""

    while True:
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
        gender = rng.choice("MF")
        sequence = rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)
        number = make_id_number("321181", birth, sequence)
        hashed = hash_for("people.person", "id_number", number)
        if (
            hashed is not None
            and hashed not in used
            and not Person.objects.filter(id_number_hash=hashed).exists()
        ):
            used.add(hashed)
            break
    return Person.objects.create(
        name=name or person_name(rng, gender),
        id_number=number,
        id_number_hash=hashed,
        gender=gender,
        birth_date=birth,
        region_code=grid,
        political_status="cpc" if party else "masses",
        user=user,
    )


def _people(ctx, rng, grids):
    """(resident Person, volunteer Persons, party-member Persons) — each with a login."""

    resident_user = User.objects.get(username="resident")
    resident = Person.objects.filter(user=resident_user).first()
    pool = list(
        Person.objects.filter(region_code__in=grids, status="active")
        .exclude(user=resident_user)
        .order_by("id")[:2000]
    )
    used: set[str] = set()
    if resident is None:
        resident = _fallback_person(rng, grids[0], used, name="刘居民", user=resident_user)
        ctx.log("    fallback: created the demo resident's Person (registry demo data absent)")
    if len(pool) >= VOLUNTEERS:
        volunteers = rng.sample(pool, VOLUNTEERS)
    else:
        volunteers = pool + [
            _fallback_person(rng, grids[i % 2], used, party=i % 5 == 0)
            for i in range(VOLUNTEERS - len(pool))
        ]
        ctx.log(f"    fallback: created {VOLUNTEERS - len(pool)} volunteer Persons")
    grid_regions = {r.code: r for r in Region.objects.filter(code__in=grids)}
    for n, person in enumerate(sorted(volunteers, key=lambda p: p.pk), start=1):
        if person.user_id is None:
            user = User.objects.create(username=f"vol{n:03d}", full_name=person.name, password="!")
            Assignment.objects.create(
                user=user, role=Role.RESIDENT, region=grid_regions.get(person.region_code)
            )
            person.user = user
            person.save(update_fields=["user"])
    volunteers.sort(key=lambda p: p.pk)
    party = [p for p in volunteers if p.political_status in ("cpc", "cpc_probationary")]
    return resident, volunteers, party


def _login(person: Person) -> User:
    """A seeded volunteer's login (every volunteer the seeder makes has one)."""
    assert person.user is not None
    return person.user


def _merchant_user():

    user = User.objects.filter(username="merchant").first()
    if user is None:
        user = user_create(
            username="merchant", password=settings.SHEQU_DEMO_PASSWORD, full_name="钱收银"
        )
        Assignment.objects.create(user=user, role=Role.PARTNER_CONTACT)
    return user


class _History:
    """Writes a year of activity through the services, with the clock set to the past."""

    def __init__(
        self, ctx, rng, *, flagship, grids, staff, grid_staff, people, store, items, merchants
    ):
        self.ctx, self.rng = ctx, rng
        self.flagship, self.grids = flagship, grids
        self.staff, self.grid_staff = staff, grid_staff
        self.resident, self.volunteers, self.party = people
        self.store, self.items, self.merchants = store, items, merchants
        self.cashier = _merchant_user()

    def run(self, start: date, end: date) -> None:
        day = start
        month = None
        while day < end:
            if day.month != month:
                month = day.month
                self._month(day, end)
            day += timedelta(days=1)

    def _month(self, first: date, end: date) -> None:
        """One month of activity, run in date order so the ledger reads chronologically."""
        rng = self.rng
        days = [
            first + timedelta(days=i)
            for i in range(28)
            if first + timedelta(days=i) < end - timedelta(days=2)
        ]
        if not days:
            return
        events: list[tuple[date, Callable[..., None], tuple[Any, ...]]] = []
        for _ in range(7):
            events.append((rng.choice(days), self._task, (rng.choice(TASKS), PointKind.VOLUNTEER)))
        if self.party and first.month % 3 == 0:
            events.append(
                (rng.choice(days), self._task, (rng.choice(PARTY_TASKS), PointKind.PARTY))
            )
        events.append((rng.choice(days), self._help, ()))
        events.extend((rng.choice(days), self._redeem, ()) for _ in range(8))
        events.extend((rng.choice(days), self._merchant, ()) for _ in range(5))
        for day, action, args in sorted(events, key=lambda e: e[0]):
            action(day, *args)
        self._settle(first)

    def _task(self, day, spec, point_kind):
        rng = self.rng
        people = self.party if point_kind == PointKind.PARTY else self.volunteers
        title, category, points, hours = spec
        grid = rng.choice(self.grids)
        actor = self.grid_staff.get(grid, self.staff)
        start = _aware(day, rng.choice([8, 9, 14, 15, 19]))
        end = start + timedelta(hours=float(hours) + 0.5)
        quota = rng.randint(3, 6)
        with clock.at(start - timedelta(days=2)):
            task = services.task_create(
                actor=actor,
                kind=rng.choice([TaskKind.VOLUNTEER, TaskKind.WISH]),
                title=title,
                category=category,
                region_code=grid,
                starts_at=start,
                ends_at=end,
                quota=quota,
                points_per_person=points,
                hours_per_person=hours,
                point_kind=point_kind,
                address=_address(grid),
                publish=True,
            )
        joiners = rng.sample(people, min(quota, len(people)))
        if (
            point_kind == PointKind.VOLUNTEER
            and self.resident not in joiners
            and rng.random() < 0.4
        ):
            joiners[0] = self.resident
        claims = []
        with clock.at(start - timedelta(days=1)):
            for person in joiners:
                claims.append(services.task_claim(actor=person.user, task=task))
        for claim in claims:
            fate = rng.random()
            if fate < 0.8:
                with clock.at(start + timedelta(minutes=rng.randint(0, 10))):
                    services.claim_check(
                        actor=_login(claim.person), task=task, code=task.checkin_code
                    )
                with clock.at(end - timedelta(minutes=rng.randint(0, 10))):
                    services.claim_check(
                        actor=_login(claim.person), task=task, code=task.checkout_code
                    )
                with clock.at(end + timedelta(hours=1)):
                    services.claim_confirm(actor=actor, claim=claim)
            elif fate < 0.9:
                with clock.at(end + timedelta(hours=2)):
                    services.claim_grant_honour(
                        actor=actor,
                        claim=claim,
                        points=points,
                        hours=hours,
                        reason="现场未签到，网格员核实确有服务",
                    )
        with clock.at(end + timedelta(hours=3)):
            services.task_complete(actor=actor, task=task)

    def _help(self, day):
        rng = self.rng
        asker, helper = rng.sample(self.volunteers, 2)
        title, points, hours = rng.choice(HELP_TASKS)
        if ledger.resident_account(asker).balance < points:
            return
        start = _aware(day, 10)
        with clock.at(start - timedelta(days=1)):
            task = services.help_request_create(
                actor=asker.user,
                title=title,
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                points=points,
                hours=hours,
            )
            claim = services.task_claim(actor=helper.user, task=task)
        with clock.at(start + timedelta(hours=3)):
            services.claim_confirm(actor=asker.user, claim=claim)
            services.task_complete(actor=asker.user, task=task)

    def _redeem(self, day):
        rng = self.rng
        person = rng.choice([self.resident, *self.volunteers])
        item = rng.choice(self.items)
        account = ledger.resident_account(person)
        if account.balance < item.price or item.stock < 1:
            return
        moment = _aware(day, rng.randint(9, 17), rng.randint(0, 59))
        with clock.at(moment):
            try:
                order = services.order_redeem(actor=person.user, item=item)
            except ConflictError:
                return
        item.refresh_from_db()
        if rng.random() < 0.1:
            with clock.at(moment + timedelta(hours=5)):
                services.order_cancel(actor=person.user, order=order)
        else:
            with clock.at(moment + timedelta(days=1)):
                services.order_confirm_pickup(actor=self.staff, order=order)

    def _merchant(self, day):
        rng = self.rng
        person = rng.choice([self.resident, *self.volunteers])
        balance = ledger.resident_account(person).balance
        if balance < 10:
            return
        merchant = rng.choice(self.merchants)
        moment = _aware(day, rng.randint(9, 20), rng.randint(0, 59))
        with clock.at(moment):
            code = services.paycode_issue(actor=person.user)
            services.merchant_redeem(
                actor=self.cashier,
                merchant=merchant,
                code=code.code,
                points=min(balance, rng.choice([10, 20, 30, 50])),
                description="积分抵扣",
            )

    def _settle(self, first_of_month: date):
        previous = (first_of_month - timedelta(days=1)).replace(day=1)
        with clock.at(_aware(first_of_month + timedelta(days=1), 10)):
            for merchant in self.merchants:
                if merchant.payments.filter(created_at__lt=_aware(first_of_month, 0)).exists():
                    with contextlib.suppress(ConflictError):
                        services.merchant_settle(
                            actor=self.staff, merchant=merchant, month=previous
                        )


def _address(grid: str) -> str:

    building = Building.objects.filter(region_code=grid).order_by("code").first()
    return building.address if building else ""


def seed(ctx: SeedContext) -> None:
    rng = ctx.rng("points")
    flagship, grids = _flagship(ctx)
    township = flagship[:9]
    staff = User.objects.get(username="community")
    township_user = User.objects.get(username="township")
    grid_staff = {
        grids[0]: User.objects.get(username="grid"),
        grids[1]: User.objects.get(username="grid2"),
    }
    people = _people(ctx, rng, grids)
    resident, _volunteers, _party = people

    PointsRule.objects.create(
        region_code=settings.SHEQU_CITY_CODE, daily_cap=60, per_task_cap=50, adjustment_cap=100
    )
    PointsRule.objects.create(
        region_code=flagship, daily_cap=80, per_task_cap=50, adjustment_cap=200, expiry_enabled=True
    )

    today = timezone.localdate()
    year_ago = today - timedelta(days=365)
    with clock.at(_aware(year_ago, 9)):
        for kind, city_amount, allocation in (
            (PointKind.VOLUNTEER, 30_000, 18_000),
            (PointKind.PARTY, 4_000, 3_000),
        ):
            township_pool = ledger.pool_account(township, kind)
            services.pool_fund(
                actor=township_user,
                pool=township_pool,
                funder_kind=FunderKind.CITY,
                funder_name="丹阳市民政局（示例）",
                amount=city_amount,
                yuan=Decimal(city_amount) / 10,
            )
            services.pool_allocate(
                actor=township_user,
                source=township_pool,
                target=ledger.pool_account(flagship, kind),
                amount=allocation,
                reason="年度积分划拨",
            )
        services.pool_fund(
            actor=staff,
            pool=ledger.pool_account(flagship),
            funder_kind=FunderKind.PARTNER,
            funder_name=DONORS[0],
            amount=3_000,
            yuan=Decimal(300),
            note="共建单位年度资助",
        )
        store = Store.objects.create(
            name="丹凤社区爱心超市",
            region_code=flagship,
            address="丹凤社区党群服务中心一楼（示例）",
            opening_hours="周一至周六 9:00–17:00",
        )
        items = []
        for n, (name, category, price, value, stock, limit) in enumerate(ITEMS):
            items.append(
                services.store_item_create(
                    actor=staff,
                    store=store,
                    name=name,
                    category=category,
                    price=price,
                    value_yuan=Decimal(value),
                    monthly_limit=limit,
                    initial_stock=stock,
                    donor=DONORS[n % len(DONORS)] if n % 4 == 0 else "",
                    photo=_picture(name, category),
                )
            )
        merchants = []
        for n, (name, category, rate, offer) in enumerate(MERCHANTS):
            merchants.append(
                Merchant.objects.create(
                    name=name,
                    category=category,
                    region_code=grids[n % 2],
                    yuan_per_point=Decimal(rate),
                    offer=offer,
                    address=_address(grids[0]),
                )
            )
        cashier = _merchant_user()
        for merchant in merchants:
            merchant.operators.add(cashier)

    history = _History(
        ctx,
        rng,
        flagship=flagship,
        grids=grids,
        staff=staff,
        grid_staff=grid_staff,
        people=people,
        store=store,
        items=items,
        merchants=merchants,
    )
    history.run(year_ago + timedelta(days=2), today - timedelta(days=3))
    with clock.at(_aware(today - timedelta(days=60), 10)):
        for item in items[:8]:
            services.stock_in(
                actor=staff,
                item=item,
                quantity=rng.randint(10, 30),
                source=StockSource.DONATION,
                donor=rng.choice(DONORS),
                note="季度捐赠",
            )
    _current(ctx, rng, grids=grids, staff=staff, grid_staff=grid_staff, people=people, items=items)
    account = ledger.resident_account(resident)
    if account.balance < 150:
        services.account_adjust(
            actor=staff,
            person=resident,
            amount=150 - account.balance,
            reason="演示数据：补录线下志愿服务积分",
        )
    ctx.log(
        f"    {Task.objects.count()} tasks, {len(items)} items, {len(merchants)} merchants, "
        f"resident balance {ledger.resident_account(resident).balance}"
    )
    if ctx.scale not in demo_bulk.ENTRIES:
        _spread(ctx, rng, flagship=flagship, city_user=User.objects.get(username="city"))
    if ctx.scale in demo_bulk.ENTRIES:
        # medium/city: years of history for every other community through the bulk path
        demo_bulk.seed_ledger(
            rng=ctx.rng("points-bulk"),
            target_entries=demo_bulk.ENTRIES[ctx.scale] - Entry.objects.count(),
            exclude_prefixes=(flagship,),
            log=ctx.log,
        )


def _picture(name: str, category: str):

    return ContentFile(item_picture(name, category), name="item.jpg")


def _spread(ctx, rng, *, flagship: str, city_user) -> None:
    """Small scale: volunteer service in every other community and village, so that the city's
    and townships' views of the points platform mean something (the flagship stays richest).
    Per unit a few registry residents volunteer (each gets a login), the unit's pool is funded
    through its township, and SPREAD_TASKS tasks over the past year are attended in full and
    confirmed by the grid's worker; each township's first community opens a small 爱心超市
    (pictures included) where its volunteers redeem now and then. All through the services."""

    started = timer.perf_counter()
    today = timezone.localdate()
    units = list(
        Region.objects.filter(level="community")
        .exclude(code=flagship)
        .order_by("code")
        .values_list("code", "name")
    )
    grid_workers = {
        a.region.code: a.user
        for a in Assignment.objects.filter(
            role=Role.GRID_WORKER, region__level="grid", user__username__startswith="gw"
        ).select_related("region", "user")
        if a.region is not None  # region__level="grid": always
    }
    adults = today.replace(year=today.year - 18)
    candidates: dict[str, list] = {}
    for person in (
        Person.objects.filter(status="active", user__isnull=True, birth_date__lte=adults)
        .exclude(region_code__startswith=flagship)
        .order_by("region_code", "id")
        .only("id", "name", "region_code", "political_status")
    ):
        bucket = candidates.setdefault(person.region_code[:12], [])
        if len(bucket) < 40:
            bucket.append(person)
    grid_regions = {r.code: r for r in Region.objects.filter(level="grid")}
    # logins for the volunteers (no usable password: the demo logs in as `resident`)
    volunteers: dict[str, list] = {}
    new_users = []
    for code, _name in units:
        pool = candidates.get(code, [])
        chosen = rng.sample(pool, min(SPREAD_VOLUNTEERS, len(pool)))
        volunteers[code] = sorted(chosen, key=lambda p: p.pk)
        for person in volunteers[code]:
            new_users.append(User(username=f"v{person.pk}", full_name=person.name, password="!"))
    User.objects.bulk_create(new_users, batch_size=1000)
    users = {
        u.username: u for u in User.objects.filter(username__in=[u.username for u in new_users])
    }
    assignments, people = [], []
    for chosen in volunteers.values():
        for person in chosen:
            person.user = users[f"v{person.pk}"]
            people.append(person)
            assignments.append(
                Assignment(
                    user=person.user,
                    role=Role.RESIDENT,
                    region=grid_regions.get(person.region_code),
                )
            )
    Assignment.objects.bulk_create(assignments, batch_size=1000)
    Person.objects.bulk_update(people, ["user"], batch_size=1000)

    year_ago = today - timedelta(days=365)
    by_township: dict[str, list[str]] = {}
    for code, _name in units:
        if volunteers[code]:
            by_township.setdefault(code[:9], []).append(code)
    tasks = 0
    with clock.at(_aware(year_ago, 9)):
        for township, codes in by_township.items():
            need = len(codes) * SPREAD_TASKS * 6 * 15 + 2_000
            source = ledger.pool_account(township)
            services.pool_fund(
                actor=city_user,
                pool=source,
                funder_kind=FunderKind.CITY,
                funder_name="丹阳市民政局（示例）",
                amount=need,
                yuan=Decimal(need) / 10,
            )
            for code in codes:
                services.pool_allocate(
                    actor=city_user,
                    source=source,
                    target=ledger.pool_account(code),
                    amount=SPREAD_TASKS * 6 * 15,
                    reason="年度积分划拨",
                )
    stores = {}
    for codes in by_township.values():
        first = codes[0]
        name = dict(units)[first]
        with clock.at(_aware(year_ago, 10)):
            store = Store.objects.create(
                name=f"{name}爱心超市",
                region_code=first,
                address=f"{name}党群服务中心（示例）",
                opening_hours="周一至周五 9:00–16:00",
            )
            stores[first] = [
                services.store_item_create(
                    actor=city_user,
                    store=store,
                    name=item_name,
                    category=category,
                    price=price,
                    value_yuan=Decimal(value),
                    monthly_limit=limit,
                    initial_stock=max(stock, 10),
                    photo=_picture(item_name, category),
                )
                for item_name, category, price, value, stock, limit in ITEMS[:SPREAD_ITEMS]
            ]
    for code, _name in units:
        chosen = volunteers[code]
        if not chosen:
            continue
        grids = sorted({p.region_code for p in chosen})
        for n in range(SPREAD_TASKS):
            title, category, points, hours = rng.choice(TASKS)
            grid = grids[n % len(grids)]
            actor = grid_workers.get(grid) or city_user
            day = year_ago + timedelta(days=rng.randrange(20, 350))
            start = _aware(day, rng.choice([9, 14, 15]))
            end = start + timedelta(hours=float(hours) + 0.5)
            joiners = rng.sample(chosen, min(len(chosen), rng.randint(3, 5)))
            with clock.at(start - timedelta(days=2)):
                task = services.task_create(
                    actor=actor,
                    kind=TaskKind.VOLUNTEER,
                    title=title,
                    category=category,
                    region_code=grid,
                    starts_at=start,
                    ends_at=end,
                    quota=len(joiners),
                    points_per_person=points,
                    hours_per_person=hours,
                    address=_address(grid),
                    publish=True,
                )
                claims = [services.task_claim(actor=p.user, task=task) for p in joiners]
            for claim in claims:
                with clock.at(start + timedelta(minutes=rng.randint(0, 10))):
                    services.claim_check(
                        actor=_login(claim.person), task=task, code=task.checkin_code
                    )
                with clock.at(end - timedelta(minutes=rng.randint(0, 10))):
                    services.claim_check(
                        actor=_login(claim.person), task=task, code=task.checkout_code
                    )
                with clock.at(end + timedelta(hours=1)):
                    services.claim_confirm(actor=actor, claim=claim)
            with clock.at(end + timedelta(hours=3)):
                services.task_complete(actor=actor, task=task)
            tasks += 1
    orders = 0
    for code, items in stores.items():
        for person in volunteers[code]:
            balance = ledger.resident_account(person).balance
            affordable = [i for i in items if i.price <= balance]
            if not affordable:
                continue
            item = rng.choice(affordable)
            with clock.at(_aware(today - timedelta(days=rng.randint(3, 20)), 10)):
                try:
                    order = services.order_redeem(actor=person.user, item=item)
                except ConflictError:
                    continue
                services.order_confirm_pickup(actor=city_user, order=order)
            orders += 1
    ctx.log(
        f"    spread: {tasks} tasks in {sum(1 for c in volunteers.values() if c)} other "
        f"communities/villages of {len(by_township)} townships, "
        f"{len(stores)} more stores, {orders} orders ({timer.perf_counter() - started:.1f} s)"
    )


def _current(ctx, rng, *, grids, staff, grid_staff, people, items):
    """Tasks in every state around today."""
    resident, volunteers, _party = people
    now = timezone.now().replace(second=0, microsecond=0)
    grid_a, grid_b = grids
    worker = grid_staff[grid_a]

    def make(title, category, points, hours, start, length, *, quota=4, grid=grid_a, publish=True):
        return services.task_create(
            actor=grid_staff[grid],
            kind=TaskKind.VOLUNTEER,
            title=title,
            category=category,
            region_code=grid,
            starts_at=start,
            ends_at=start + timedelta(hours=length),
            quota=quota,
            points_per_person=points,
            hours_per_person=hours,
            address=_address(grid),
            publish=publish,
        )

    make("社区议事会场布置", "culture", 5, "1", now + timedelta(days=5), 2, publish=False)
    make("今日楼道清理", "environment", 8, "2", now - timedelta(minutes=30), 4, quota=6)
    make(
        "周末垃圾分类督导", "environment", 6, "2", now + timedelta(days=2), 3, quota=5, grid=grid_b
    )
    make("陪独居老人聊天", "care", 15, "2", now + timedelta(days=3), 2, quota=3)
    full = make("敬老院包饺子", "care", 10, "3", now + timedelta(days=1), 3, quota=2)
    for person in volunteers[:2]:
        services.task_claim(actor=person.user, task=full)
    in_progress = make("防汛沙袋搬运", "patrol", 12, "3", now - timedelta(hours=2), 4, quota=4)
    claims = [services.task_claim(actor=p.user, task=in_progress) for p in volunteers[2:5]]
    for claim in claims:
        services.claim_check(
            actor=_login(claim.person), task=in_progress, code=in_progress.checkin_code
        )
    services.claim_check(
        actor=_login(claims[0].person), task=in_progress, code=in_progress.checkout_code
    )
    with clock.at(now - timedelta(hours=6)):
        done = make("小区绿化补种", "environment", 8, "2", now - timedelta(hours=5), 2, quota=2)
        helper = services.task_claim(actor=volunteers[5].user, task=done)
    with clock.at(now - timedelta(hours=2)):
        services.claim_grant_honour(
            actor=worker, claim=helper, points=8, hours="2", reason="补录：现场由网格员核实"
        )
        services.task_complete(actor=worker, task=done)
    cancelled = make("露天电影放映", "culture", 5, "2", now + timedelta(days=4), 3)
    services.task_claim(actor=volunteers[6].user, task=cancelled)
    services.task_cancel(actor=worker, task=cancelled, reason="天气预报有雨，活动改期")
    asker = next(p for p in volunteers if ledger.resident_account(p).balance >= 10)
    services.help_request_create(
        actor=asker.user,
        title="帮忙去药店取药",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=5),
        points=10,
        hours="1",
    )
    future = Task.objects.filter(status=TaskStatus.PUBLISHED, title="陪独居老人聊天").first()
    if future and not Claim.objects.filter(task=future, person=resident).exists():
        services.task_claim(actor=resident.user, task=future)
    assert Claim.objects.filter(status=ClaimStatus.CHECKED_OUT).exists()
    # a pending order for the resident (so 我的订单 shows a pickup code)
    cheap = next(i for i in items if i.price <= 15 and i.stock > 0)
    if ledger.resident_account(resident).balance >= cheap.price:
        services.order_redeem(actor=resident.user, item=cheap)


def DIGEST():

    yield (
        "points.tasks",
        Task.objects.order_by("title", "starts_at").values_list(
            "title", "status", "quota", "points_per_person"
        ),
    )
    yield (
        "points.transfers",
        Transfer.objects.order_by("id").values_list("kind", "amount", "point_kind"),
    )
    yield ("points.entries", Entry.objects.order_by("id").values_list("amount", "balance_after"))
    yield (
        "points.orders",
        Order.objects.order_by("id").values_list("item__name", "quantity", "points", "status"),
    )
