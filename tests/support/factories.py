"""The tests' factories, in one place (plain functions; every app's tests use them).

`make_person()` writes through the ORM with the same hashing as the registry's services, so
tests that are not about registration rules stay fast and do not depend on those services;
`valid_id()` hands out unique, well-formed ID numbers; `make_resident_user()` is a resident
account with its Person; `fund_pool()` and `give_points()` put points where a test needs them;
`xlsx()` builds an Excel file in memory.

Plain functions rather than factory_boy: each factory is a few lines, and keyword arguments
say everything a test varies.
"""

import io
import itertools
from datetime import date, timedelta

from django.utils import timezone
from openpyxl import Workbook

from shequ.accounts.models import Assignment, User
from shequ.core.crypto import hash_for
from shequ.core.idnumbers import make_id_number
from shequ.geo.models import House, Region
from shequ.people.choices import HouseRelation, LinkStatus
from shequ.people.models import Household, HouseLink, Person, PersonTag, TagType
from shequ.points import ledger
from shequ.points.choices import FunderKind, PointKind
from shequ.points.models import Store
from shequ.points.services import pool_fund, store_item_create

_sequence = itertools.count(1)


def valid_id(*, birth: date = date(1980, 5, 17), male: bool = True, address: str = "321181") -> str:
    """A unique, valid 18-character ID number."""
    n = next(_sequence)
    day = date.fromordinal(birth.toordinal() + n // 400)
    seq = (n % 400) * 2 + (1 if male else 0)
    return make_id_number(address, day, seq)


def valid_mobile() -> str:
    return f"199{next(_sequence) + 50_000_000:08d}"


def make_person(
    *,
    grid_code: str | None = None,
    house: House | None = None,
    name: str = "王小明",
    id_number: str | None = None,
    mobile: str = "",
    household: Household | None = None,
    relation_to_head: str = "",
    user=None,
    **extra,
) -> Person:
    if house is None and grid_code is not None:
        house = House.objects.filter(region_code=grid_code).order_by("code").first()
    number = id_number or valid_id()
    person = Person(
        name=name,
        id_number=number,
        id_number_hash=hash_for("people.person", "id_number", number),
        gender="M" if int(number[16]) % 2 else "F",
        birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        mobile=mobile,
        mobile_hash=hash_for("people.person", "mobile", mobile),
        region_code=house.region_code if house else grid_code,
        house=house,
        household=household,
        relation_to_head=relation_to_head,
        user=user,
        **extra,
    )
    person.save()
    if house is not None:
        HouseLink.objects.create(
            person=person,
            house=house,
            region_code=house.region_code,
            relation=HouseRelation.FAMILY,
            status=LinkStatus.MOVED_IN,
            start_date=date(2020, 1, 1),
        )
    return person


def tag(person: Person, code: str, **extra) -> PersonTag:
    return PersonTag.objects.create(
        person=person,
        tag_type=TagType.objects.get(code=code),
        source=extra.pop("source", "测试"),
        start_date=extra.pop("start_date", date(2024, 1, 1)),
        **extra,
    )


def xlsx(rows: list[list], *, title: str | None = None, number_format: dict | None = None) -> bytes:
    """An .xlsx file whose first sheet holds `rows` (optionally below a merged title row)."""
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(rows[0]), 2))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_resident_user(username: str, grid_code: str, *, name: str = "陈志愿"):
    """(user, person): a resident account in `grid_code` and its Person."""
    user = User.objects.create_user(username=username, password="x", full_name=name)
    Assignment.objects.create(user=user, role="resident", region=Region.objects.get(code=grid_code))
    person = make_person(grid_code=grid_code, name=name, user=user)
    return user, person


def fund_pool(world, amount: int = 10_000, point_kind: str = PointKind.VOLUNTEER):
    """The community's points pool, funded by the city with `amount`."""
    pool = ledger.pool_account(world["community"], point_kind)
    pool_fund(
        actor=User.objects.get(username="community"),
        pool=pool,
        funder_kind=FunderKind.CITY,
        funder_name="丹阳市民政局",
        amount=amount,
    )
    pool.refresh_from_db()
    return pool


def give_points(person, amount: int, point_kind: str = PointKind.VOLUNTEER) -> None:
    """Credit a resident straight from the issuer (test set-up only)."""
    ledger.transfer_post(
        key=f"test-credit:{person.pk}:{next(_sequence)}",
        kind="funding",
        reason="测试充值",
        legs=[
            (ledger.issuer_account(point_kind), -amount),
            (ledger.resident_account(person, point_kind), amount),
        ],
    )


def window(hours_from_now: float = -0.5, length_hours: float = 3):
    """(start, end) of a task window around now."""
    start = timezone.now() + timedelta(hours=hours_from_now)
    return start, start + timedelta(hours=length_hours)


def make_store_item(world, *, stock: int, price: int = 30, limit: int = 5):
    """(store, item): the community's store with one item of `stock` units."""
    store = Store.objects.create(name="丹凤社区爱心超市", region_code=world["community"])
    item = store_item_create(
        actor=User.objects.get(username="community"),
        store=store,
        name="大米5kg",
        price=price,
        monthly_limit=limit,
        initial_stock=stock,
    )
    return store, item


def buyers(world, count: int, points: int):
    """`count` residents of grid A, each with `points` points: [(user, person)]."""
    people = []
    for i in range(count):
        user, person = make_resident_user(f"buyer{i}", world["grid_a"], name=f"买家{i}")
        give_points(person, points)
        people.append((user, person))
    return people
