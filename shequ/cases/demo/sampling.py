"""The simulator's base: the working calendar, category/day/hour/channel weights, sampling,
case codes and 12345 work-order numbers, and the acting party of each step. `Simulator`
(simulation.py) builds on it."""

import bisect
import datetime as dt
import itertools
import math
import zoneinfo
from collections.abc import Sequence

from django.conf import settings

from shequ.cases.demo import world
from shequ.cases.demo.patterns import CHANNELS, GROUP_WEIGHT, LEAF_BOOST, RESIDENT_HOURS, SEASON
from shequ.cases.models import Category
from shequ.core.calendar import get_calendar
from shequ.core.deadlines import LimitUnit
from shequ.demo.seeding import SeedContext


class SimulatorBase:
    """The simulation's ground: the calendar, the weights, sampling, numbering, who acts."""

    def __init__(self, ctx: SeedContext, *, now: dt.datetime, start: dt.datetime, n: int):
        self.rng = ctx.rng("cases")
        self.scale = ctx.scale
        self.now = now  # naive local
        self.start = start
        self.n = n
        self.tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        self.cal = get_calendar()
        leaves = list(
            Category.objects.filter(parent__isnull=False, is_active=True)
            .select_related("parent")
            .prefetch_related("attributes")
            .order_by("code")
        )
        self.leaves = leaves
        self._month_weights = {}
        for month in range(1, 13):
            weights = []
            for leaf in leaves:
                assert leaf.parent is not None  # leaves only (parent__isnull=False)
                group = leaf.parent.code
                weight = GROUP_WEIGHT.get(group, 5) / sum(
                    1 for c in leaves if c.parent_id == leaf.parent_id
                )
                weight *= LEAF_BOOST.get(leaf.code, 1.0)
                season = SEASON.get(leaf.code) or SEASON.get(group)
                if season:
                    weight *= season[month - 1]
                weights.append(weight)
            self._month_weights[month] = list(itertools.accumulate(weights))
        days = (now.date() - start.date()).days
        self.days = [start.date() + dt.timedelta(days=i) for i in range(days)]
        day_weights = []
        for day in self.days:
            weight = 1.0 if day.weekday() < 5 else 0.75
            weight *= 0.85 + 0.3 * math.sin((day.timetuple().tm_yday / 365.0) * 2 * math.pi - 1.2)
            growth = (day - self.days[0]).days / max(1, days)  # reporting grows as adoption does
            day_weights.append(weight * (0.8 + 0.4 * growth))
        self._day_cumulative = list(itertools.accumulate(day_weights))
        self._hour_cumulative = list(itertools.accumulate(RESIDENT_HOURS))
        self._channel_cumulative = list(itertools.accumulate(w for _c, w in CHANNELS))
        self.places = world.places(self.scale, self._flagship_grids)
        self._place_cumulative = list(itertools.accumulate(p.weight for p in self.places))
        self.actors = world.actors()
        self._day_seq: dict[dt.date, int] = {}
        self._order_seq: dict[dt.date, int] = {}
        # (grid, leaf id) → (code, reported at) of the last open case: the target of a merge.
        self._open_by_key: dict[tuple[str, int], tuple[str, dt.datetime]] = {}
        self.daily = self.cal.daily_seconds

    def _flagship_grids(self) -> list[str]:
        if not hasattr(self, "_flagship"):
            self._flagship = world.flagship_grids()
        return self._flagship

    # --- sampling ---------------------------------------------------------------------------

    def _pick(self, cumulative: Sequence[float]) -> int:
        return bisect.bisect_right(cumulative, self.rng.random() * cumulative[-1])

    def _after(self, moment: dt.datetime, amount: float, unit: str) -> dt.datetime:
        """`amount` units after a naive local moment (working time or clock time)."""
        if unit == LimitUnit.HOURS:
            return moment + dt.timedelta(hours=amount)
        seconds = amount * (3600 if unit == LimitUnit.WORK_HOURS else self.daily)
        return self.cal.moment_naive(self.cal.position(moment) + int(seconds))

    def _fraction_of(self, moment, limit, unit, fraction) -> dt.datetime:
        return self._after(moment, max(limit * fraction, 0.02), unit)

    def _work_order(self, day: dt.date) -> str:
        """A 12345 work-order number, unique per day like the hotline's own."""
        seq = self._order_seq.get(day, 0) + 1
        self._order_seq[day] = seq
        return f"12345-{day:%Y%m%d}-{seq:05d}"

    def _code(self, day: dt.date) -> str:
        seq = self._day_seq.get(day, 0) + 1
        self._day_seq[day] = seq
        return f"{day:%y%m%d}D{seq:05d}"

    def _actor(self, kind: str, grid: str, company: int | None = None):
        """(user id or None, display name, role) of a party acting on a case in `grid`."""
        a = self.actors
        if kind == "grid":
            found = a.grid_workers.get(grid)
            return (*found, "grid_worker") if found else (None, "网格员", "grid_worker")
        if kind == "community":
            found = a.community_staff.get(grid[:12])
            return (
                (*found, "community_staff") if found else (None, "社区工作人员", "community_staff")
            )
        if kind == "township":
            found = a.township_officers.get(grid[:9])
            return (
                (*found, "township_officer")
                if found
                else (None, "镇街工作人员", "township_officer")
            )
        if kind == "property":
            found = a.property_staff.get(company)
            return (*found, "property_staff") if found else (None, "物业人员", "property_staff")
        return None, "系统", "system"

    def aware(self, value):
        return value.replace(tzinfo=self.tz) if isinstance(value, dt.datetime) else value
