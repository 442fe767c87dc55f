"""The working calendar: weekends, 调休 make-up Saturdays/Sundays, the National Day holiday,
local overrides from the editable table, working hours, and deadlines under time-machine."""

import datetime as dt

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from shequ.core import calendar
from shequ.core.calendar import WorkCalendar, deadline, get_calendar
from shequ.core.deadlines import LimitUnit
from shequ.core.models import CalendarDay
from tests.support.cases import report

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]


def at(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


def local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value).replace(tzinfo=None)


@pytest.fixture(autouse=True)
def fresh_calendar():
    calendar.reset_cache()
    yield
    calendar.reset_cache()


def test_weekend_is_skipped():
    # Friday 2026-11-27 10:00 + 1 工作日 → Monday 10:00; + 4 工作时 from 16:00 → Monday 11:00.
    assert local(deadline(at(2026, 11, 27, 10, 0), 1, LimitUnit.WORK_DAYS)) == dt.datetime(
        2026, 11, 30, 10, 0
    )
    assert local(deadline(at(2026, 11, 27, 16, 0), 4, LimitUnit.WORK_HOURS)) == dt.datetime(
        2026, 11, 30, 11, 0
    )


def test_reported_after_hours_counts_from_the_next_working_morning():
    # Friday 18:00 + 1 工作日 = the whole of Monday → Monday 17:30.
    assert local(deadline(at(2026, 11, 27, 18, 0), 1, LimitUnit.WORK_DAYS)) == dt.datetime(
        2026, 11, 30, 17, 30
    )
    # Saturday + 2 工作时 → Monday 10:30.
    assert local(deadline(at(2026, 11, 28, 9, 0), 2, LimitUnit.WORK_HOURS)) == dt.datetime(
        2026, 11, 30, 10, 30
    )


def test_lunch_break_is_not_working_time():
    # 11:00 + 2 工作时 = 11:00–12:00 and 13:30–14:30.
    assert local(deadline(at(2026, 11, 26, 11, 0), 2, LimitUnit.WORK_HOURS)) == dt.datetime(
        2026, 11, 26, 14, 30
    )


def test_make_up_sunday_before_national_day_2025_is_a_working_day():
    # 2025: Sunday 28 Sep is a 调休 working day; 1–8 Oct are holidays; Saturday 11 Oct works.
    cal = get_calendar()
    assert cal.is_workday(dt.date(2025, 9, 28))
    assert not cal.is_workday(dt.date(2025, 10, 1))
    assert not cal.is_workday(dt.date(2025, 10, 8))
    assert cal.is_workday(dt.date(2025, 10, 11))
    # Friday 26 Sep 16:00 + 1 工作日 → Sunday 28 Sep 16:00 (the make-up day).
    assert local(deadline(at(2025, 9, 26, 16, 0), 1, LimitUnit.WORK_DAYS)) == dt.datetime(
        2025, 9, 28, 16, 0
    )


def test_national_day_holiday_is_skipped():
    # Tuesday 30 Sep 2025 10:00 + 1 工作日 → Thursday 9 Oct 10:00 (1–8 Oct off).
    assert local(deadline(at(2025, 9, 30, 10, 0), 1, LimitUnit.WORK_DAYS)) == dt.datetime(
        2025, 10, 9, 10, 0
    )
    # 3 工作日 from 30 Sep → 9 Oct, 10 Oct, then Saturday 11 Oct (调休) 10:00.
    assert local(deadline(at(2025, 9, 30, 10, 0), 3, LimitUnit.WORK_DAYS)) == dt.datetime(
        2025, 10, 11, 10, 0
    )


def test_make_up_saturday_2026_spring_festival():
    # 2026: Saturday 14 Feb and Saturday 28 Feb are 调休 working days.
    cal = get_calendar()
    assert cal.is_workday(dt.date(2026, 2, 14))
    assert cal.is_workday(dt.date(2026, 2, 28))
    assert not cal.is_workday(dt.date(2026, 2, 16))


def test_natural_hours_ignore_the_calendar():
    start = at(2025, 10, 1, 23, 0)
    assert deadline(start, 2, LimitUnit.HOURS) == start + dt.timedelta(hours=2)


def test_editable_table_overrides_the_official_calendar():
    cal = get_calendar()
    assert cal.is_workday(dt.date(2026, 12, 1))
    CalendarDay.objects.create(date=dt.date(2026, 12, 1), is_workday=False, note="local holiday")
    assert not get_calendar().is_workday(dt.date(2026, 12, 1))
    # A year the package does not know yet: configured in the table.
    CalendarDay.objects.create(date=dt.date(2027, 10, 1), is_workday=False, note="国庆节")
    CalendarDay.objects.create(date=dt.date(2027, 9, 26), is_workday=True, note="调休")
    cal = get_calendar()
    assert not cal.is_workday(dt.date(2027, 10, 1))
    assert cal.is_workday(dt.date(2027, 9, 26))  # a Sunday
    assert cal.is_workday(dt.date(2027, 10, 4))  # an ordinary Monday beyond the package


@override_settings(SHEQU_WORKING_HOURS=[(9 * 60, 17 * 60)])
def test_working_hours_are_configurable():
    calendar.reset_cache()
    assert local(deadline(at(2026, 11, 26, 16, 0), 2, LimitUnit.WORK_HOURS)) == dt.datetime(
        2026, 11, 27, 10, 0
    )
    assert get_calendar().daily_seconds == 8 * 3600


def test_working_hours_setting_is_validated():
    from django.core.exceptions import ImproperlyConfigured

    from shequ.settings import parse_working_hours

    assert parse_working_hours("08:30-12:00,13:30-17:30") == [(510, 720), (810, 1050)]
    for bad in ("", "8-12", "12:00-08:00", "08:00-12:00,11:00-13:00", "25:00-26:00"):
        with pytest.raises(ImproperlyConfigured):
            parse_working_hours(bad)


def test_working_hours_between_and_round_trip():
    cal = get_calendar()
    start, end = at(2025, 9, 30, 10, 0), at(2025, 10, 9, 10, 0)
    assert cal.working_seconds_between(start, end) == 7.5 * 3600
    moment = at(2026, 11, 26, 15, 45)
    assert cal.moment(cal.position(moment)) == moment


def test_build_without_database():
    cal = WorkCalendar.build(periods_minutes=[(480, 720)], overrides={})
    assert cal.daily_seconds == 4 * 3600


class TestCaseDeadlines:
    """The deadline of a real case follows the calendar (time-machine for the clock)."""

    def test_dispatch_on_friday_afternoon(self, persona):
        with time_machine.travel(at(2026, 11, 27, 16, 0), tick=False):
            case = report(persona("resident"), "0102")  # 道路不洁: 5 工作时, auto-dispatched
        assert case.status == "dispatched"
        assert local(case.due_at) == dt.datetime(2026, 11, 30, 12, 0)  # 1.5 h Fri + 3.5 h Mon
        assert local(case.step_warn_at) == dt.datetime(2026, 11, 30, 11, 0)  # 4 h = 80 % of 5 h

    def test_dispatch_before_national_day(self, persona):
        with time_machine.travel(at(2025, 9, 30, 15, 0), tick=False):
            case = report(persona("resident"), "0101")  # 暴露垃圾: 1 工作日
        assert local(case.due_at) == dt.datetime(2025, 10, 9, 15, 0)

    def test_dispatch_before_a_make_up_saturday(self, persona):
        # Friday 10 Oct 2025 16:00 + 5 工作时: Saturday 11 Oct is a 调休 working day → 12:00.
        with time_machine.travel(at(2025, 10, 10, 16, 0), tick=False):
            case = report(persona("resident"), "0102")
        assert local(case.due_at) == dt.datetime(2025, 10, 11, 12, 0)

    def test_dispatch_on_make_up_sunday(self, persona):
        with time_machine.travel(at(2025, 9, 28, 9, 0), tick=False):
            case = report(persona("resident"), "0102")
        assert local(case.due_at) == dt.datetime(2025, 9, 28, 15, 30)

    def test_extension_moves_the_due_time(self, persona):
        from shequ.cases import services

        with time_machine.travel(at(2026, 11, 26, 9, 0), tick=False):
            case = report(persona("resident"), "0101")
            case = services.case_accept(case=case, actor=persona("grid"))
            case = services.case_request_extension(
                case=case, actor=persona("grid"), amount=2, reason="需要协调环卫车辆"
            )
            case = services.case_approve_extension(case=case, actor=persona("community"))
        # 1 工作日 from Thu 09:00 → Fri 09:00; + 2 工作日 → Tue 09:00.
        assert local(case.due_at) == dt.datetime(2026, 12, 1, 9, 0)
        assert case.extension_count == 1 and case.extension_requested is None
