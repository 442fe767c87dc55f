"""The working calendar (工作日历): Chinese official calendar + local overrides + working hours.

A day is a working day when the editable `CalendarDay` table says so; otherwise when the
`chinese-calendar` package knows the year (weekends off except make-up workdays 调休, statutory
holidays off); otherwise Monday–Friday. Working hours come from SHEQU_WORKING_HOURS (default
08:30–12:00 and 13:30–17:30, 7.5 h a day).

Arithmetic runs on a "working-time axis": the number of working seconds since 2000-01-01
(local time). Each process keeps the cumulative working seconds per day in an array, so adding
working time or measuring it is a binary search, not a day-by-day walk. The array is rebuilt
when the calendar table changes (a version stamp checked every two seconds, as for the grids).

Units of time limits:
  工作时 work_hours  working hours on that axis
  工作日 work_days   a day's worth of working hours (7.5 h by default): from 10:00 on a working
                     day, 1 工作日 ends at 10:00 on the next working day; from Friday 18:00 it
                     ends at 17:30 on Monday
  自然小时 hours      clock hours, for emergencies (nights and holidays included)

Used by the deadline clocks (shequ/core/deadlines.py) and by the closed loop's step clocks
(shequ/cases/services/, the demo seeder, Open311's representation); the admin edits the table
(shequ/core/admin.py). It imports nothing above core.
"""

import bisect
import datetime as dt
import threading
import time
from dataclasses import dataclass

import chinese_calendar
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from shequ.core.models import CalendarDay, LimitUnit, VersionStamp

EPOCH = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)
CHECK_SECONDS = 2.0
STAMP = "cases.calendar"  # the stamp's name from before the move (existing rows keep working)


_KNOWN_YEARS = range(
    min(chinese_calendar.holidays).year,
    max(*chinese_calendar.holidays, *chinese_calendar.workdays).year + 1,
)


def official_workday(day: dt.date) -> bool:
    """The State Council's calendar as packaged by chinese-calendar, or Mon–Fri beyond it."""
    if day.year in _KNOWN_YEARS:
        if day in chinese_calendar.workdays:
            return True
        if day in chinese_calendar.holidays:
            return False
    return day.weekday() < 5


@dataclass
class WorkCalendar:
    periods: tuple[tuple[int, int], ...]  # working periods of a day, seconds after midnight
    workdays: bytearray  # 1 per working day, indexed from EPOCH
    cumulative: list[int]  # working seconds before each day (len = days + 1)
    version: int

    @classmethod
    def build(cls, *, periods_minutes, overrides: dict[dt.date, bool], version: int = 0):
        periods = tuple((s * 60, e * 60) for s, e in periods_minutes)
        daily = sum(e - s for s, e in periods)
        days = (LAST_DAY - EPOCH).days + 1
        workdays = bytearray(days)
        cumulative = [0] * (days + 1)
        total = 0
        for i in range(days):
            day = EPOCH + dt.timedelta(days=i)
            working = overrides.get(day)
            if working is None:
                working = official_workday(day)
            workdays[i] = 1 if working else 0
            cumulative[i] = total
            if working:
                total += daily
        cumulative[days] = total
        return cls(periods=periods, workdays=workdays, cumulative=cumulative, version=version)

    @property
    def daily_seconds(self) -> int:
        return sum(e - s for s, e in self.periods)

    def _index(self, day: dt.date) -> int:
        i = (day - EPOCH).days
        if not 0 <= i < len(self.workdays):
            raise ValueError(f"date {day} is outside the working calendar ({EPOCH}–{LAST_DAY})")
        return i

    def is_workday(self, day: dt.date) -> bool:
        return bool(self.workdays[self._index(day)])

    def position(self, moment: dt.datetime) -> int:
        """Working seconds from EPOCH to `moment` (times outside working hours clamp)."""
        local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
        i = self._index(local.date())
        base = self.cumulative[i]
        if not self.workdays[i]:
            return base
        second = local.hour * 3600 + local.minute * 60 + local.second
        worked = 0
        for start, end in self.periods:
            if second <= start:
                break
            worked += min(second, end) - start
        return base + worked

    def moment(self, position: int) -> dt.datetime:
        """The aware local datetime at a working-time position (an end of a period on a tie)."""
        return timezone.make_aware(self.moment_naive(position))

    def moment_naive(self, position: int) -> dt.datetime:
        """The naive local datetime at a working-time position (bulk paths)."""
        k = bisect.bisect_left(self.cumulative, position) - 1
        if k < 0:
            k = 0
        offset = position - self.cumulative[k]
        day = EPOCH + dt.timedelta(days=k)
        second = self.periods[0][0]
        for start, end in self.periods:
            length = end - start
            if offset <= length:
                second = start + offset
                break
            offset -= length
        return dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=second)

    def add(self, start: dt.datetime, amount: float, unit: str) -> dt.datetime:
        """The moment `amount` units after `start` (a deadline)."""
        if unit == LimitUnit.HOURS:
            return start + dt.timedelta(hours=amount)
        seconds = amount * (3600 if unit == LimitUnit.WORK_HOURS else self.daily_seconds)
        return self.moment(self.position(start) + round(seconds))

    def between(self, start: dt.datetime, due: dt.datetime, ratio: float, unit: str) -> dt.datetime:
        """The moment `ratio` of the way from `start` to `due` on `unit`'s clock (the yellow
        line at 80 % of a limit: working time for work units, clock time for hours)."""
        if unit == LimitUnit.HOURS:
            return start + (due - start) * ratio
        begin, end = self.position(start), self.position(due)
        return self.moment(begin + int((end - begin) * ratio))

    def shift(self, moment: dt.datetime, seconds: float, unit: str) -> dt.datetime:
        """`moment` pushed back by `seconds` of `unit`'s clock (a pause measured by `elapsed`)."""
        if unit == LimitUnit.HOURS:
            return moment + dt.timedelta(seconds=seconds)
        return self.moment(self.position(moment) + round(seconds))

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> int:
        return self.position(end) - self.position(start)

    def elapsed(self, start: dt.datetime, end: dt.datetime, unit: str) -> float:
        """Time between two moments, measured in `unit`'s clock (seconds)."""
        if unit == LimitUnit.HOURS:
            return (end - start).total_seconds()
        return float(self.working_seconds_between(start, end))


_lock = threading.Lock()
_calendar: WorkCalendar | None = None
_checked_at = 0.0


def _db_version() -> int:
    return VersionStamp.objects.filter(name=STAMP).values_list("version", flat=True).first() or 0


def get_calendar() -> WorkCalendar:
    """This process's calendar, rebuilt when the calendar table (or working hours) changed."""
    global _calendar, _checked_at
    now = time.monotonic()
    current = _calendar
    if current is not None and now - _checked_at < CHECK_SECONDS:
        return current
    with _lock:
        version = _db_version()
        periods = tuple(settings.SHEQU_WORKING_HOURS)
        if (
            _calendar is None
            or _calendar.version != version
            or _calendar.periods != tuple((s * 60, e * 60) for s, e in periods)
        ):
            overrides = dict(CalendarDay.objects.values_list("date", "is_workday"))
            _calendar = WorkCalendar.build(
                periods_minutes=periods, overrides=overrides, version=version
            )
        _checked_at = time.monotonic()
        return _calendar


def calendar_changed(**kwargs) -> None:
    """Invalidate every process's calendar (after the table changed)."""
    global _calendar
    updated = VersionStamp.objects.filter(name=STAMP).update(version=F("version") + 1)
    if not updated:
        VersionStamp.objects.get_or_create(name=STAMP, defaults={"version": 1})
    with _lock:
        _calendar = None


def reset_cache() -> None:
    """Forget the cached calendar (tests that change settings)."""
    global _calendar
    with _lock:
        _calendar = None


def deadline(start: dt.datetime, amount: float, unit: str) -> dt.datetime:
    return get_calendar().add(start, amount, unit)


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    return get_calendar().working_seconds_between(start, end) / 3600
