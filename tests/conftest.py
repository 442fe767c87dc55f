"""Shared fixtures. The test database starts with the small demo geography and the demo
accounts (the personas: grid, grid2, community, township, city, resident, property, auditor).
The fixtures of tests/support/ are registered here for every test module."""

import pytest
from django.conf import settings
from django.test import Client

from shequ.accounts.models import User
from shequ.accounts.second_factor import CHECKED
from shequ.accounts.services import api_token_issue
from shequ.demo import seeding

# Plain `assert`s in the helpers explain their failures as they do in tests.
pytest.register_assert_rewrite("tests.support")

pytest_plugins = ["tests.support.cases", "tests.support.points"]

BASE_SEEDERS = {"geo", "accounts"}


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the default language (zh-hans): a request for an English page
    leaves English active in the thread, and a later test that reads a lazy label would see
    English — an ordering-dependent failure under xdist."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def seed_base_world() -> seeding.SeedContext:
    ctx = seeding.SeedContext(scale="small", log=lambda message: None)
    return seeding.run(ctx, only=BASE_SEEDERS)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        seed_base_world()


# Reference data that migrations put into every database (a flush removes it too).
REFERENCE_DATA = ["shequ.cases.categories.ensure_categories", "tests.conftest.ensure_tag_types"]


def ensure_tag_types() -> None:
    from importlib import import_module

    from django.apps import apps

    import_module("shequ.people.migrations.0003_tag_types").forwards(apps, None)
    import_module("shequ.people.migrations.0007_seed_tag_synonyms").forwards(apps, None)


def restore_reference_data() -> None:
    from django.utils.module_loading import import_string

    for path in REFERENCE_DATA:
        import_string(path)()


@pytest.fixture
def reseed_after_flush(django_db_blocker):
    """List this fixture *before* transactional_db: after the flush it restores the base world
    and the reference data (categories …) that migrations seeded."""
    yield
    with django_db_blocker.unblock():
        restore_reference_data()
        seed_base_world()


PERSONAS = (
    "admin",
    "city",
    "township",
    "community",
    "grid",
    "grid2",
    "resident",
    "property",
    "auditor",
)


@pytest.fixture
def persona(db):
    """persona("grid") → the demo user with that username."""

    def get(username: str) -> User:
        assert username in PERSONAS, username
        return User.objects.get(username=username)

    return get


@pytest.fixture
def client_as(db, persona):
    """client_as("community") → a test Client logged in as that persona."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(persona(username))
        session = client.session  # as after our login form: password checked, no 2FA needed
        session[CHECKED] = "password"
        session.save()
        return client

    return make


@pytest.fixture
def api_client_as(db, persona):
    """api_client_as("grid") → a Client sending `Authorization: Bearer <token>`."""

    def make(username: str) -> Client:
        _token, plaintext = api_token_issue(user=persona(username), name="tests")
        return Client(headers={"Authorization": f"Bearer {plaintext}"})

    return make


@pytest.fixture
def world(db):
    """Codes of the seeded demo world."""
    from shequ.demo import danyang
    from shequ.geo.models import Region

    grids = sorted(
        Region.objects.filter(code__startswith=danyang.FLAGSHIP_CODE, level="grid").values_list(
            "code", flat=True
        )
    )
    return {
        "city": settings.SHEQU_CITY_CODE,
        "township": danyang.FLAGSHIP_CODE[:9],
        "other_township": "321181002",
        "community": danyang.FLAGSHIP_CODE,
        "grid_a": grids[0],
        "grid_b": grids[1],
    }
