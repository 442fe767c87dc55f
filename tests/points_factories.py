"""Factories and fixtures for the points tests (import the fixtures you use by name).

People are written straight through the registry's models with the same hashing as its
services, so these tests do not depend on the registry's services or demo data.
"""

import itertools
from datetime import date, timedelta

import pytest
from django.utils import timezone

from shequ.core.crypto import hash_for
from shequ.core.idnumbers import make_id_number
from shequ.people.models import Person
from shequ.points import ledger
from shequ.points.choices import FunderKind, PointKind, TaskKind
from shequ.points.models import Store

_sequence = itertools.count(1)


def make_person(*, grid_code: str, name: str = "王小明", user=None, **extra) -> Person:
    n = next(_sequence)
    number = make_id_number("321181", date(1970, 1, 1) + timedelta(days=n * 7), (n * 2 + 1) % 1000)
    return Person.objects.create(
        name=name,
        id_number=number,
        id_number_hash=hash_for("people.person", "id_number", number),
        gender="M",
        birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        region_code=grid_code,
        user=user,
        **extra,
    )


def make_resident_user(username: str, grid_code: str, *, name: str = "陈志愿"):
    from shequ.accounts.models import Assignment, User
    from shequ.geo.models import Region

    user = User.objects.create_user(username=username, password="x", full_name=name)
    Assignment.objects.create(user=user, role="resident", region=Region.objects.get(code=grid_code))
    person = make_person(grid_code=grid_code, name=name, user=user)
    return user, person


def fund_pool(world, amount: int = 10_000, point_kind: str = PointKind.VOLUNTEER):
    from shequ.accounts.models import User
    from shequ.points.services import pool_fund

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
    start = timezone.now() + timedelta(hours=hours_from_now)
    return start, start + timedelta(hours=length_hours)


def assert_ledger_exact() -> None:
    violations = ledger.ledger_violations()
    assert violations == [], [str(v) for v in violations]
    assert ledger.ledger_totals()["sum"] == 0


@pytest.fixture
def resident(persona, world):
    """The demo `resident` user with a Person in grid A."""
    user = persona("resident")
    person = make_person(grid_code=world["grid_a"], name="刘居民", user=user)
    return user, person


@pytest.fixture
def volunteer(world):
    return make_resident_user("volunteer1", world["grid_a"], name="陈志愿")


@pytest.fixture
def volunteer2(world):
    return make_resident_user("volunteer2", world["grid_b"], name="吴热心")


@pytest.fixture
def pool(world):
    return fund_pool(world)


@pytest.fixture
def make_task(persona, world, pool):
    from shequ.points.services import task_create

    def make(**overrides):
        start, end = window()
        fields = {
            "actor": persona("community"),
            "kind": TaskKind.VOLUNTEER,
            "title": "楼道清理",
            "category": "environment",
            "region_code": world["grid_a"],
            "starts_at": start,
            "ends_at": end,
            "quota": 3,
            "points_per_person": 10,
            "hours_per_person": 2,
            "publish": True,
        }
        fields.update(overrides)
        return task_create(**fields)

    return make


@pytest.fixture
def store(world):
    return Store.objects.create(name="丹凤社区爱心超市", region_code=world["community"])


@pytest.fixture
def make_item(persona, store):
    from shequ.points.services import store_item_create

    def make(**overrides):
        fields = {
            "actor": persona("community"),
            "store": store,
            "name": f"大米{next(_sequence)}",
            "price": 30,
            "monthly_limit": 2,
            "initial_stock": 10,
        }
        fields.update(overrides)
        return store_item_create(**fields)

    return make


@pytest.fixture(autouse=False)
def exact_ledger():
    """Use in a test to check the ledger invariants after it."""
    yield
    assert_ledger_exact()
