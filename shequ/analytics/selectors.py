"""Reads of the cockpit. Every indicator number comes from the closed-loop selector
`shequ.cases.indicators.indicators` (the one definition); this module only arranges its results
into cards, tables, series and map values, and adds the lists behind them (hotspots, red cases,
warnings). The caller has checked the region against the user's scope (`filters.parse_filters`).
"""

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.analytics.definitions import BY_KEY, KPI_KEYS, display
from shequ.analytics.filters import PERM, Filters
from shequ.analytics.models import EarlyWarning
from shequ.cases.indicators import EXCLUDED, Indicators, indicators, period_bounds
from shequ.cases.models import Case, Category
from shequ.core.actors import AnyUser
from shequ.core.replica import read_db
from shequ.core.scoping import prefix_q, scoped
from shequ.geo.models import Region

TABLE_KEYS = (
    "reports",
    "registered",
    "closure_rate",
    "on_time_rate",
    "rework_rate",
    "satisfaction_rate",
    "avg_handling_hours",
    "overdue_open",
)
LEVEL_LABELS = {
    "city": gettext_lazy("市"),
    "township": gettext_lazy("镇/街道"),
    "community": gettext_lazy("社区/村"),
    "grid": gettext_lazy("网格"),
}
# Rankings shown at each level: the children, and at city/township level the grandchildren.
RANKING_LEVELS = {
    "city": ("township", "community"),
    "township": ("community", "grid"),
    "community": ("grid",),
    "grid": (),
}
# The cases a ranking indicator rests on (its denominator): below SHEQU_RANKING_MIN_CASES of
# them a unit is not ranked.
RANK_SAMPLE = {"on_time_rate": "due", "satisfaction_rate": "rated"}
INSUFFICIENT = gettext_lazy("样本不足")
HOTSPOT_LIMIT = 300
RED_LIMIT = 20
CASE_LIMIT = 50


@dataclass
class Table:
    id: str
    title: str
    columns: list[tuple[str, str | Promise]]  # (key, label)
    rows: list[dict[str, Any]] = field(default_factory=list)  # key → raw value (+ "_url", "_code")

    def display_rows(self) -> list[list[str]]:
        return [[_cell(key, row.get(key)) for key, _label in self.columns] for row in self.rows]


def _cell(key: str, value: object) -> str:
    if key in BY_KEY:
        return display(key, value)
    return "" if value is None else str(value)


def indicator_columns(first: tuple[str, str | Promise]) -> list[tuple[str, str | Promise]]:
    return [first, *((k, str(BY_KEY[k].label)) for k in TABLE_KEYS)]


def name_of(names: dict[str, str], key: str | None) -> str | None:
    """The name of a row's key (a region or category code), else the key itself."""
    return names.get(key, key) if key is not None else None


def _row(name_key: str, name: str | None, ind: Indicators) -> dict[str, Any]:
    row: dict[str, Any] = {name_key: name}
    row.update({k: getattr(ind, k) for k in TABLE_KEYS})
    return row


def _rank_key(key: str) -> Callable[[dict[str, Any]], tuple[bool, float]]:
    def sort_key(row: dict[str, Any]) -> tuple[bool, float]:
        value = row.get(key)
        return (value is None, -(value or 0))

    return sort_key


def _kept[T](
    name: str,
    parts: dict[str, Any],
    compute: Callable[[], T],
    *,
    fixed_now: dt.datetime | None = None,
) -> T:
    """`compute()`, kept SHEQU_COCKPIT_CACHE_SECONDS under a key made of `parts` (0: always
    computed). A caller with a fixed clock (`fixed_now`) always computes."""
    seconds = settings.SHEQU_COCKPIT_CACHE_SECONDS
    if not seconds or fixed_now is not None:
        return compute()
    digest = hashlib.sha256(repr(sorted(parts.items())).encode()).hexdigest()
    key = f"analytics:{name}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


@overload
def cockpit_indicators(
    *,
    region: str,
    start: dt.date,
    end: dt.date,
    category: str | None = None,
    group_by: None = None,
    now: dt.datetime | None = None,
) -> Indicators: ...
@overload
def cockpit_indicators(
    *,
    region: str,
    start: dt.date,
    end: dt.date,
    category: str | None = None,
    group_by: str,
    now: dt.datetime | None = None,
) -> list[Indicators]: ...
def cockpit_indicators(
    *,
    region: str,
    start: dt.date,
    end: dt.date,
    category: str | None = None,
    group_by: str | None = None,
    now: dt.datetime | None = None,
) -> Indicators | list[Indicators]:
    """The closed-loop selector's numbers for the cockpit and its API, read from the replica when
    there is one and kept for SHEQU_COCKPIT_CACHE_SECONDS (0: always recomputed): a city-wide
    view recomputed on raw rows takes about a second at 5 M cases, and a meeting's worth of
    leaders opening the same view should not recompute it each time. A cached result is the
    selector's own result from at most that many seconds ago; `now` given by the caller (a fixed
    clock) bypasses the cache."""
    args: dict[str, Any] = {"region": region, "start": start, "end": end, "category": category}
    args["group_by"] = group_by
    return _kept(
        "indicators",
        args,
        lambda: indicators(**args, now=now, using=read_db()),
        fixed_now=now,
    )


class Cockpit:
    """The data of one cockpit view (cards, series, tables, map, lists), computed lazily once."""

    def __init__(self, user: AnyUser, filters: Filters, *, now: dt.datetime | None = None):
        self.user = user
        self.f = filters
        self._fixed_now = now
        self.now = now or timezone.now()
        self._total: Indicators | None = None
        self._grouped: dict[str, list[Indicators]] = {}

    def _indicators(self, group_by: str) -> list[Indicators]:
        if group_by not in self._grouped:
            self._grouped[group_by] = cockpit_indicators(
                region=self.f.region,
                start=self.f.start,
                end=self.f.end,
                category=self.f.category,
                group_by=group_by,
                now=self._fixed_now,
            )
        return self._grouped[group_by]

    # --- numbers ------------------------------------------------------------------------------

    @property
    def total(self) -> Indicators:
        if self._total is None:
            self._total = cockpit_indicators(
                region=self.f.region,
                start=self.f.start,
                end=self.f.end,
                category=self.f.category,
                now=self._fixed_now,
            )
        return self._total

    def kpis(self) -> list[dict[str, Any]]:
        total = self.total
        return [
            {
                "key": key,
                "label": str(BY_KEY[key].label),
                "value": getattr(total, key),
                "text": display(key, getattr(total, key)),
            }
            for key in KPI_KEYS
        ]

    def trend(self) -> list[Indicators]:
        return self._indicators(self.f.trend)

    def by_category(self) -> list[Indicators]:
        rows = self._indicators("category")
        return sorted(rows, key=lambda r: (-r.reports, r.key or ""))

    def ranking_levels(self) -> tuple[str, ...]:
        return RANKING_LEVELS[self.f.level]

    def by_level(self, level: str) -> list[Indicators]:
        return self._indicators(level)

    def region(self) -> Region | None:
        if not hasattr(self, "_region"):
            self._region = Region.objects.filter(code=self.f.region).first()
        return self._region

    def names(self) -> dict[str, str]:
        """Names of the current region, its ancestors and every region in the tables (1 query)."""
        if not hasattr(self, "_names"):
            codes = {self.f.region[:n] for n in (6, 9, 12, 15) if n <= len(self.f.region)}
            for level in (*self.ranking_levels(), "grid"):
                codes |= {r.key for r in self.by_level(level) if r.key}
            self._names = dict(
                Region.objects.filter(code__in=sorted(codes)).values_list("code", "name")
            )
        return self._names

    def category_names(self) -> dict[str, str]:
        if not hasattr(self, "_category_names"):
            self._category_names = dict(Category.objects.values_list("code", "name"))
        return self._category_names

    def breadcrumbs(self) -> list[dict[str, str]]:
        names = self.names()
        crumbs = []
        for n in (6, 9, 12, 15):
            if n <= len(self.f.region):
                code = self.f.region[:n]
                crumbs.append({"code": code, "name": names.get(code, code)})
        return crumbs

    # --- tables (the page and the xlsx export show the same ones) -----------------------------

    def tables(self) -> list[Table]:
        names = self.names()
        tables = [
            Table(
                "kpis",
                _("概览"),
                [("label", _("指标")), ("text", _("数值")), ("value", _("原始值"))],
                [
                    {"label": k["label"], "value": k["value"], "text": k["text"], "_key": k["key"]}
                    for k in self.kpis()
                ],
            )
        ]
        minimum = settings.SHEQU_RANKING_MIN_CASES
        sample = RANK_SAMPLE[self.f.rank]
        for level in self.ranking_levels():
            rows = [
                {
                    **_row("name", name_of(names, r.key), r),
                    "_code": r.key,
                    "_sample": getattr(r, sample),
                }
                for r in self.by_level(level)
            ]
            # A unit whose ranking indicator rests on fewer than SHEQU_RANKING_MIN_CASES cases is
            # not ranked: listed after the ranked ones, by code, as 样本不足.
            ranked = sorted(
                (r for r in rows if r["_sample"] >= minimum), key=_rank_key(self.f.rank)
            )
            for position, row in enumerate(ranked, 1):
                row["rank"] = position
            few = sorted((r for r in rows if r["_sample"] < minimum), key=lambda r: r["_code"])
            for row in few:
                row["rank"] = str(INSUFFICIENT)
            rows = ranked + few
            tables.append(
                Table(
                    f"rank-{level}",
                    _("%(level)s排名（%(by)s）")
                    % {"level": LEVEL_LABELS[level], "by": BY_KEY[self.f.rank].label},
                    [("rank", _("名次")), *indicator_columns(("name", LEVEL_LABELS[level]))],
                    rows,
                )
            )
        categories = self.category_names()
        tables.append(
            Table(
                "categories",
                _("问题类别"),
                indicator_columns(("name", _("类别"))),
                [
                    {**_row("name", name_of(categories, r.key), r), "_code": r.key}
                    for r in self.by_category()
                ],
            )
        )
        tables.append(
            Table(
                "trend",
                _("趋势"),
                indicator_columns(("name", _("日期"))),
                [_row("name", r.key, r) for r in self.trend()],
            )
        )
        return tables

    # --- map ----------------------------------------------------------------------------------

    def grid_values(self) -> dict[str, dict[str, Any]]:
        key = self.f.indicator
        return {
            r.key: {"value": getattr(r, key), "text": display(key, getattr(r, key))}
            for r in self.by_level("grid")
            if r.key
        }

    def _cases(self) -> QuerySet[Case]:
        qs = Case.objects.filter(prefix_q("region_code", self.f.region))
        if self.f.category:
            qs = qs.filter(
                Q(category__code=self.f.category) | Q(category__parent__code=self.f.category)
            )
        return qs

    def hotspots(self) -> list[dict[str, Any]]:
        """Reported cases in the period, counted per ≈ 100 m cell (rounded coordinates); kept
        like the indicators."""
        begin, finish = period_bounds(self.f.start, self.f.end)

        def compute() -> list[dict[str, Any]]:
            rows = (
                self._cases()
                .using(read_db())
                .filter(reported_at__gte=begin, reported_at__lt=finish, lat__isnull=False)
                .exclude(status__in=EXCLUDED)
                .annotate(la=Round("lat", 3), ln=Round("lng", 3))
                .values("la", "ln")
                .annotate(n=Count("id"))
                .order_by("-n", "la", "ln")[:HOTSPOT_LIMIT]
            )
            return [{"lat": r["la"], "lng": r["ln"], "count": r["n"]} for r in rows]

        parts = {"region": self.f.region, "start": self.f.start, "end": self.f.end}
        parts["category"] = self.f.category
        return _kept("hotspots", parts, compute, fixed_now=self._fixed_now)

    # --- lists --------------------------------------------------------------------------------

    def red_cases(self) -> list[Case]:
        """Open cases whose current step is past its deadline (红灯, live — as the case list
        shows it), most overdue first. Only running clocks set `step_due_at`, so its partial
        index serves this in deadline order."""
        return list(
            self._cases()
            .filter(step_due_at__isnull=False, step_due_at__lte=self.now)
            .select_related("category")
            .order_by("step_due_at", "id")[:RED_LIMIT]
        )

    def grid_cases(self) -> list[Case]:
        """At grid level: the grid's cases reported in the period (the end of the drill-down)."""
        begin, finish = period_bounds(self.f.start, self.f.end)
        return list(
            self._cases()
            .filter(reported_at__gte=begin, reported_at__lt=finish)
            .select_related("category")
            .order_by("-reported_at", "-id")[:CASE_LIMIT]
        )

    def warnings(self, limit: int = 12) -> list[EarlyWarning]:
        """Warnings of the region ending in (or up to 30 days before) the period, open ones
        first; each carries `grid_name` (names of grids without cases in the period cost one
        more query)."""
        found = list(
            region_warnings(self.user, self.f.region)
            .filter(period_end__gte=self.f.start - dt.timedelta(days=30))
            .select_related("category")
            .order_by(F("acknowledged_at").asc(nulls_first=True), "-period_end", "-id")[:limit]
        )
        names = self.names()
        missing = {w.region_code for w in found} - set(names)
        if missing:
            names.update(
                Region.objects.filter(code__in=sorted(missing)).values_list("code", "name")
            )
        for w in found:
            w.grid_name = names.get(w.region_code, w.region_code)
        return found


def region_warnings(user: AnyUser, region: str) -> QuerySet[EarlyWarning]:
    return scoped(EarlyWarning.objects.all(), user, PERM).filter(prefix_q("region_code", region))
