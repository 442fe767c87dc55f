"""Demo cases: the small scale's shape (all states, overdue, reworked, rated, a workload for the
demo accounts, deadlines from the calendar), the bulk path, the shipped categories."""

import datetime as dt
import itertools

import pytest
from django.db.models import Count
from django.utils import timezone

from shequ.cases import demo
from shequ.cases.categories import leaf_count
from shequ.cases.indicators import indicators
from shequ.cases.models import Case, CaseEvent, CasePhoto, CaseRating, Category
from shequ.core.calendar import get_calendar
from shequ.demo import seeding

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]


@pytest.fixture
def seeded():
    ctx = seeding.SeedContext(scale="small", log=lambda message: None)
    seeding.run(ctx, only={"cases"})


def test_categories_are_production_configuration():
    leaves = Category.objects.filter(parent__isnull=False)
    assert leaf_count() == leaves.count() >= 30
    assert Category.objects.filter(parent__isnull=True).count() == 10
    assert leaves.get(code="0101").handle_limit == 1  # 暴露垃圾 1 工作日 (济源)
    assert leaves.get(code="0102").handle_unit == "work_hours"  # 道路不洁 5 工作时
    assert leaves.get(code="0503").handle_limit == 20  # 拆除 20 工作日
    assert leaves.get(code="0802").handle_unit == "hours"  # 燃气: natural hours
    assert leaves.get(code="0601").ladder == ["property", "community", "township", "city"]


def test_small_scale_shape(seeded, world):
    cases = Case.objects.all()
    assert 2900 <= cases.count() <= 3100
    statuses = dict(cases.values_list("status").annotate(n=Count("id")))
    assert set(statuses) >= {"reported", "dispatched", "accepted", "handled", "closed", "voided"}
    assert statuses["closed"] > 0.85 * cases.count()
    assert cases.filter(sla_level="red").exists() and cases.filter(escalation_level__gt=0).exists()
    assert cases.filter(rework_count__gt=0).count() > 50
    assert cases.filter(extension_count__gt=0).count() > 50
    assert cases.filter(reopen_count__gt=0).exists()
    assert CaseRating.objects.count() > 1000 and CasePhoto.objects.exists()
    first = cases.order_by("reported_at").first().reported_at
    assert timezone.now() - first > dt.timedelta(days=330)
    # Patrols happen in working hours only; more reports on weekdays.
    patrol_hours = {
        timezone.localtime(t).hour
        for t in cases.filter(channel="patrol").values_list("reported_at", flat=True)
    }
    assert min(patrol_hours) >= 8 and max(patrol_hours) <= 17
    # Every channel and group appears.
    assert set(cases.values_list("channel", flat=True)) >= {
        "resident",
        "patrol",
        "hotline",
        "phone",
    }
    assert cases.values("category__parent").distinct().count() == 10


def test_demo_accounts_have_work(seeded, world, persona):
    from shequ.cases import selectors

    assert selectors.inbox(persona("grid")).count() >= 3
    assert selectors.verification_queue(persona("community")).exists()
    assert selectors.board(persona("community"), "open").exists()
    assert selectors.my_cases(persona("resident")).filter(status="closed").exists()


def test_deadlines_follow_the_calendar(seeded):
    calendar = get_calendar()
    sample = Case.objects.filter(
        extension_count=0, dispatched_at__isnull=False, reopen_count=0
    ).select_related("category")[:200]
    for case in sample:
        expected = calendar.add(
            case.dispatched_at, case.category.handle_limit, case.category.handle_unit
        )
        assert abs((expected - case.due_at).total_seconds()) < 1, case.code


def test_timelines_are_consistent(seeded):
    for case in Case.objects.filter(status="closed").order_by("id")[:100]:
        events = list(CaseEvent.objects.filter(case=case).order_by("at", "id"))
        assert events[0].action == "report"
        times = [e.at for e in events]
        assert times == sorted(times)
        transitions = [e for e in events if e.to_status != e.from_status]
        for before, after in itertools.pairwise(transitions):
            assert before.to_status == after.from_status, case.code


def test_indicators_are_realistic(seeded, world):
    today = timezone.localdate()
    result = indicators(region=world["city"], start=today - dt.timedelta(days=365), end=today)
    assert 0.8 <= result.on_time_rate <= 0.98
    assert 0.9 <= result.satisfaction_rate <= 0.995
    assert 0.02 <= result.rework_rate <= 0.08


def test_bulk_path_on_this_database(world):
    ctx = seeding.SeedContext(scale="city", log=lambda message: None)
    now, start = demo._now_and_start("city")
    simulator = demo.Simulator(ctx, now=now, start=start, n=400)
    demo.seed_bulk(ctx, simulator)
    assert Case.objects.count() == 400
    assert CaseEvent.objects.count() <= 800
    hotline = Case.objects.filter(channel="hotline").exclude(contact_phone="").first()
    assert hotline is None or (len(hotline.contact_phone) == 11 and hotline.contact_phone_hash)
