"""Races on real connections: two grid workers accept the same case at once → one wins, the
other gets 409; two sweeps at once notify once. Transactional tests (real commits, threads)."""

import pytest
from django.conf import settings
from django.db import connection

from shequ.accounts.models import Assignment, User
from shequ.cases import services
from shequ.cases.categories import ensure_categories
from shequ.cases.models import Case
from shequ.core.errors import ConflictError
from tests.support.cases import photo_bytes, point_in
from tests.support.concurrency import run_together

# SQLite's in-memory test database (shared cache) answers a concurrent writer with "table is
# locked" instead of waiting; a file database in WAL mode waits (busy_timeout). The races are
# what PostgreSQL production deployments face, so they run there.
pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="thread races run on PostgreSQL (DATABASE_URL=postgres://…)",
)


@pytest.fixture
def categories_after_flush(django_db_blocker):
    """List before transactional_db: the categories come back after the flush."""
    with django_db_blocker.unblock():
        ensure_categories()
    yield
    with django_db_blocker.unblock():
        ensure_categories()


@pytest.mark.usefixtures("reseed_after_flush", "categories_after_flush", "transactional_db")
def test_two_grid_workers_accept_at_once_one_wins(world):
    grid = User.objects.get(username="grid")
    region_id = grid.assignments.get().region_id
    second = User.objects.create_user("grid-a-2", password="x", full_name="钱网格")
    Assignment.objects.create(user=second, role="grid_worker", region_id=region_id)
    lat, lng = point_in(world["grid_a"])
    case = services.case_report(
        actor=User.objects.get(username="resident"),
        category="0101",
        description="垃圾",
        lat=lat,
        lng=lng,
        attributes={"amount": "v1"},
        photos=[photo_bytes()],
    )
    assert case.status == "dispatched"

    def accept(user):
        def go():
            return services.case_accept(case=Case.objects.get(pk=case.pk), actor=user)

        return go

    results = run_together(accept(grid), accept(second))
    wins = [r for r in results if isinstance(r, Case)]
    losses = [r for r in results if isinstance(r, ConflictError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].status == 409 and "处置中" in losses[0].message
    case.refresh_from_db()
    assert case.status == "accepted" and case.handler_id == wins[0].handler_id
    assert case.events.filter(action="accept").count() == 1
    assert connection.vendor == "postgresql"


@pytest.mark.usefixtures("reseed_after_flush", "categories_after_flush", "transactional_db")
def test_two_sweeps_at_once_notify_once(world):
    import datetime as dt

    from django.utils import timezone

    from shequ.cases.sla import sla_sweep
    from shequ.notifications.models import Notification

    lat, lng = point_in(world["grid_a"])
    resident = User.objects.get(username="resident")
    for _ in range(5):
        services.case_report(
            actor=resident,
            category="0102",
            description="路面脏",
            lat=lat,
            lng=lng,
            photos=[photo_bytes()],
        )
    later = timezone.now() + dt.timedelta(days=30)
    results = run_together(lambda: sla_sweep(now=later), lambda: sla_sweep(now=later))
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.red for r in results) == 5
    grid = User.objects.get(username="grid")
    assert Notification.objects.filter(recipient=grid, kind="case_overdue").count() == 5
