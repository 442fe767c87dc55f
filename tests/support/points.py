"""Fixtures for the points tests (registered for every test module by tests/conftest.py):
a resident with a Person, volunteers, a funded pool, task and store-item makers, and
`exact_ledger`, which checks the ledger's invariants after a test."""

import itertools

import pytest

from shequ.points import ledger
from shequ.points.choices import TaskKind
from shequ.points.models import Store
from shequ.points.services import store_item_create, task_create
from tests.support.factories import fund_pool, make_person, make_resident_user, window

_sequence = itertools.count(1)


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
