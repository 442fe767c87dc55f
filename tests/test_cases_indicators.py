"""The indicators selector against a hand-computed fixture (governance rules §3).

Fixture (region = the flagship community, period 1–30 Nov 2026, now = 27 Nov 2026 12:00):

  #   reported  registered  status      due      handled   extra
  1   11-02     11-02       closed      11-03    11-03     satisfied, 2 h
  2   11-05     11-05       closed      11-06    11-07     basic, 10 h, category 0701 (late)
  3   11-10     11-10       closed      11-12    11-11     unsatisfied, 6 h, reworked
  4   11-12     11-12       closed      11-20    11-19     4 h, one extension
  5   11-15     11-15       accepted    11-16    —         category 0701 (open, overdue)
  6   11-26     11-26       dispatched  11-30    —         (open, not yet due)
  7   11-20     11-20       handled     11-21    11-21     (awaiting verification, on time)
  8   11-25     11-25       registered  —        —         (not dispatched)
  9   11-03     —           voided
  10  11-04     11-04       merged
  11  10-30     10-31       closed      (outside the period)
  12  10-31     11-01       closed      11-02    11-02     satisfied, 3 h (reported in October)
  13  11-05     11-05       closed      (another township)
  14  11-27     —           reported

By hand:
  上报数 = {1–10, 14} = 11; 有效上报数 = 11 − 2 (voided 9, merged 10) = 9
  立案数 = {1–8, 12} = 9; 立案率 = 9 / 9 = 100 %
  结案数 = {1, 2, 3, 4, 12} = 5; 超期未结 = {5} = 1; 应结案数 = 6
  按期结案数 = {1, 3, 4, 12} = 4; 结案率 = 5/6; 按期结案率 = 4/6
  返工率 = 1/6 (#3); 应处置数 = {1–7, 12} = 8; 处置数 = {1, 2, 3, 4, 7, 12} = 6
  延期率 = 1/8 (#4); 平均处置时长 = (2 + 10 + 6 + 4 + 3) / 5 = 5.0 工作时
  满意率 = (2 满意 + 0.9 × 1 基本满意) / 4 评价 = 0.725
"""

import datetime as dt

import pytest
from django.utils import timezone

from shequ.cases.indicators import indicators
from shequ.cases.models import Case, Category
from shequ.core.errors import InvalidInput

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]

NOW = timezone.make_aware(dt.datetime(2026, 11, 27, 12, 0))
NOV = {"start": dt.date(2026, 11, 1), "end": dt.date(2026, 11, 30), "now": NOW}


def t(month, day, hour=10, minute=0):
    return timezone.make_aware(dt.datetime(2026, month, day, hour, minute))


@pytest.fixture
def fixture_cases(world):
    garbage = Category.objects.get(code="0101")
    dispute = Category.objects.get(code="0701")
    grid, other = world["grid_a"], "321181002001001"
    counter = iter(range(1, 100))

    def make(
        reported,
        status,
        *,
        registered=None,
        due=None,
        handled=None,
        region=grid,
        category=garbage,
        **extra,
    ):
        n = next(counter)
        closed = status == "closed"
        return Case.objects.create(
            code=f"T{n:05d}",
            category=category,
            channel="resident",
            status=status,
            priority="normal",
            description=f"case {n}",
            region_code=region,
            handler_type="grid",
            handler_unit_code=region,
            reported_at=reported,
            registered_at=registered,
            dispatched_at=registered if due else None,
            due_at=due,
            handled_at=handled,
            closed_at=(handled + dt.timedelta(hours=2)) if closed else None,
            void_reason="无效" if status == "voided" else "",
            **extra,
        )

    c1 = make(
        t(11, 2, 9),
        "closed",
        registered=t(11, 2),
        due=t(11, 3),
        handled=t(11, 3, 9),
        satisfaction="satisfied",
        handling_seconds=2 * 3600,
    )
    make(
        t(11, 5, 9),
        "closed",
        registered=t(11, 5),
        due=t(11, 6),
        handled=t(11, 7),
        satisfaction="basic",
        handling_seconds=10 * 3600,
        category=dispute,
    )
    make(
        t(11, 10, 9),
        "closed",
        registered=t(11, 10),
        due=t(11, 12),
        handled=t(11, 11),
        satisfaction="unsatisfied",
        handling_seconds=6 * 3600,
        rework_count=1,
    )
    make(
        t(11, 12, 9),
        "closed",
        registered=t(11, 12),
        due=t(11, 20),
        handled=t(11, 19),
        handling_seconds=4 * 3600,
        extension_count=1,
    )
    make(t(11, 15, 9), "accepted", registered=t(11, 15), due=t(11, 16), category=dispute)
    make(t(11, 26, 9), "dispatched", registered=t(11, 26), due=t(11, 30))
    make(t(11, 20, 9), "handled", registered=t(11, 20), due=t(11, 21), handled=t(11, 21, 8))
    make(t(11, 25, 9), "registered", registered=t(11, 25))
    make(t(11, 3), "voided")
    make(t(11, 4), "merged", registered=t(11, 4), merged_into=c1)
    make(
        t(10, 30),
        "closed",
        registered=t(10, 31),
        due=t(11, 1),
        handled=t(10, 31, 15),
        handling_seconds=3600,
    )
    make(
        t(10, 31, 23),
        "closed",
        registered=t(11, 1, 9),
        due=t(11, 2),
        handled=t(11, 2, 9),
        satisfaction="satisfied",
        handling_seconds=3 * 3600,
    )
    make(
        t(11, 5),
        "closed",
        registered=t(11, 5),
        due=t(11, 6),
        handled=t(11, 6),
        region=other,
        handling_seconds=3600,
    )
    make(t(11, 27, 8), "reported")


def test_indicators_match_the_hand_computation(fixture_cases, world):
    result = indicators(region=world["community"], **NOV)
    assert result.reports == 11
    assert result.valid_reports == 9
    assert result.registered == 9
    assert result.registration_rate == 1.0
    assert result.closed == 5
    assert result.overdue_open == 1
    assert result.due == 6
    assert result.closed_on_time == 4
    assert result.closure_rate == pytest.approx(5 / 6)
    assert result.on_time_rate == pytest.approx(4 / 6)
    assert result.rework == 1 and result.rework_rate == pytest.approx(1 / 6)
    assert result.should_handle == 8 and result.handled == 6
    assert result.extended == 1 and result.extension_rate == pytest.approx(1 / 8)
    assert result.avg_handling_hours == pytest.approx(5.0)
    assert (result.satisfied, result.basically_satisfied, result.unsatisfied) == (2, 1, 1)
    assert result.satisfaction_rate == pytest.approx(0.725)


def test_open_overdue_cases_count_as_late(fixture_cases, world):
    # On 14 Nov case 5 was not yet due: 应结案数 drops to 5 and 按期结案率 rises to 4/5.
    before = indicators(region=world["community"], **{**NOV, "now": t(11, 14)})
    assert before.overdue_open == 0 and before.due == 5
    assert before.on_time_rate == pytest.approx(4 / 5)


def test_category_filter_includes_children(fixture_cases, world):
    result = indicators(region=world["community"], category="07", **NOV)
    assert (result.reports, result.registered, result.closed, result.overdue_open) == (2, 2, 1, 1)
    assert result.on_time_rate == 0.0 and result.closure_rate == 0.5
    assert indicators(region=world["community"], category="0701", **NOV).registered == 2


def test_wider_region_includes_other_township(fixture_cases, world):
    assert indicators(region=world["city"], **NOV).registered == 10
    assert indicators(region=world["other_township"], **NOV).registered == 1


def test_group_by(fixture_cases, world):
    rows = indicators(region=world["city"], group_by="township", **NOV)
    by_key = {row.key: row for row in rows}
    assert by_key[world["township"]].registered == 9
    assert by_key[world["other_township"]].registered == 1
    by_category = {
        row.key: row.registered
        for row in indicators(region=world["community"], group_by="category", **NOV)
    }
    assert by_category == {"0101": 7, "0701": 2}
    months = indicators(region=world["community"], group_by="month", **NOV)
    assert [row.key for row in months] == ["2026-11-01"]
    days = {row.key: row for row in indicators(region=world["community"], group_by="day", **NOV)}
    assert days["2026-11-27"].reports == 1 and days["2026-11-02"].registered == 1
    grids = indicators(region=world["community"], group_by="grid", **NOV)
    assert sum(row.registered for row in grids) == 9


def test_empty_period_has_no_rates(world):
    result = indicators(
        region=world["community"], start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31)
    )
    assert result.reports == 0 and result.closure_rate is None and result.satisfaction_rate is None


def test_bad_arguments(world):
    with pytest.raises(InvalidInput):
        indicators(region=world["city"], start=dt.date(2026, 2, 1), end=dt.date(2026, 1, 1))
    with pytest.raises(InvalidInput):
        indicators(
            region=world["city"],
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 1, 31),
            group_by="street",
        )


def test_query_count(fixture_cases, world, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        indicators(region=world["city"], **NOV)
    with django_assert_max_num_queries(2):
        indicators(region=world["city"], group_by="community", **NOV)


def test_selector_reexport():
    from shequ.cases import selectors

    assert selectors.indicators is indicators
