"""The cockpit's filters, parsed from the URL (shareable) and checked against the user's scope.

    ?period=week|month|quarter|year|custom &from=YYYY-MM-DD &to=YYYY-MM-DD
    &region=CODE (within scope) &category=大类代码 &indicator=… (map colour) &trend=day|week|month

Bad input raises InvalidInput (400, Chinese message, structured details); a region outside the
user's scope raises Http404 — the user cannot learn whether it exists.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.analytics.definitions import MAP_INDICATORS
from shequ.cases.indicators import GROUPINGS
from shequ.cases.models import Category
from shequ.core.actors import AnyUser
from shequ.core.errors import InvalidInput
from shequ.core.scoping import EVERYTHING, Everything, scope_codes

PERM = "cases.indicators"
PERIODS = ("week", "month", "quarter", "year", "custom")
TRENDS = ("day", "week", "month")
RANKINGS = ("on_time_rate", "satisfaction_rate")  # rankings order by one of these
EARLIEST = dt.date(2000, 1, 1)
MAX_DAYS = 366 * 6  # five years of history and some: anything longer is a typo
LEVEL_OF_LENGTH = {6: "city", 9: "township", 12: "community", 15: "grid"}
CHILD_LEVEL = {"city": "township", "township": "community", "community": "grid"}


def _bad(field_name: str, message: str, code: str = "invalid_filter") -> InvalidInput:
    return InvalidInput(message, code=code, details={"field": field_name})


def parse_date(value: str, field_name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _bad(
            field_name, _("日期格式应为 YYYY-MM-DD：%(v)s。") % {"v": value[:40]}, "invalid_date"
        ) from None


def period_dates(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if period == "week":
        return today - dt.timedelta(days=today.weekday()), today
    if period == "month":
        return today.replace(day=1), today
    if period == "quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    return today.replace(month=1, day=1), today


def check_range(start: dt.date, end: dt.date, today: dt.date) -> None:
    if end < start:
        raise _bad("to", _("结束日期不能早于开始日期。"), "invalid_period")
    if start < EARLIEST or end > today + dt.timedelta(days=366):
        raise _bad("from", _("日期超出合理范围（2000 年至明年）。"), "invalid_period")
    if (end - start).days > MAX_DAYS:
        raise _bad("to", _("时间跨度过长：最多六年。"), "invalid_period")


def allowed_regions(user: AnyUser) -> list[str] | Literal[Everything.EVERYTHING]:
    codes = scope_codes(user, PERM)
    if codes is not EVERYTHING and not codes:
        raise Http404
    return codes


def check_region(user: AnyUser, region: str) -> str:
    """`region` if it is a region code within the user's scope; 400 if malformed, 404 if not
    in scope."""
    if not (region.isdigit() and len(region) in LEVEL_OF_LENGTH):
        raise _bad("region", _("区划代码无效：应为 6、9、12 或 15 位数字。"), "invalid_region_code")
    codes = allowed_regions(user)
    if codes is not EVERYTHING and not any(region.startswith(c) for c in codes):
        raise Http404
    return region


def home_region(user: AnyUser) -> str:
    codes = allowed_regions(user)
    if codes is EVERYTHING or not codes:
        return settings.SHEQU_CITY_CODE
    return codes[0]


def check_group(group_by: str | None) -> str | None:
    if group_by in (None, ""):
        return None
    if group_by not in GROUPINGS:
        raise _bad(
            "group_by",
            _("不支持的分组方式：%(g)s（可选 %(all)s）。")
            % {"g": group_by[:40], "all": "、".join(GROUPINGS)},
            "invalid_group_by",
        )
    return group_by


def check_indicator(key: str) -> str:
    if key not in MAP_INDICATORS:
        raise _bad(
            "indicator",
            _("未知的指标：%(k)s（可选 %(all)s）。")
            % {"k": key[:40], "all": "、".join(MAP_INDICATORS)},
            "invalid_indicator",
        )
    return key


def check_category(code: str | None) -> str | None:
    if not code:
        return None
    if not (len(code) <= 8 and Category.objects.filter(code=code).exists()):
        raise _bad("category", _("未知的问题类别：%(c)s。") % {"c": code[:40]}, "invalid_category")
    return code


@dataclass
class Filters:
    region: str
    start: dt.date
    end: dt.date
    period: str = "month"
    category: str | None = None
    indicator: str = "on_time_rate"
    trend: str = "day"
    rank: str = "on_time_rate"
    big: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def level(self) -> str:
        return LEVEL_OF_LENGTH[len(self.region)]

    @property
    def child_level(self) -> str | None:
        return CHILD_LEVEL.get(self.level)

    def query(self, **changes) -> str:
        """The URL query of these filters with `changes` (drill-down links, exports)."""
        values = {
            "period": self.period,
            "region": self.region,
            "category": self.category or "",
            "indicator": self.indicator,
            "trend": self.trend,
            "rank": self.rank,
        }
        if self.period == "custom":
            values.update({"from": self.start.isoformat(), "to": self.end.isoformat()})
        if self.big:
            values["screen"] = "big"
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def parse_filters(user, params, *, today: dt.date | None = None) -> Filters:
    """Filters from a QueryDict (or dict), checked against `user`'s scope."""
    today = today or timezone.localdate()
    period = params.get("period") or ("custom" if params.get("from") else "month")
    if period not in PERIODS:
        raise _bad("period", _("未知的时间段：%(p)s。") % {"p": period[:40]}, "invalid_period")
    if period == "custom":
        if not params.get("from") or not params.get("to"):
            raise _bad("from", _("自定义时间段需要开始和结束日期。"), "invalid_period")
        start, end = parse_date(params["from"], "from"), parse_date(params["to"], "to")
    else:
        start, end = period_dates(period, today)
    check_range(start, end, today)
    region = params.get("region") or home_region(user)
    check_region(user, region)
    indicator = check_indicator(params.get("indicator") or "on_time_rate")
    days = (end - start).days
    trend = params.get("trend") or ("day" if days <= 62 else "week" if days <= 366 else "month")
    if trend not in TRENDS:
        raise _bad("trend", _("趋势粒度应为 day、week 或 month。"), "invalid_group_by")
    rank = params.get("rank") or "on_time_rate"
    if rank not in RANKINGS:
        raise _bad(
            "rank", _("排名指标应为 on_time_rate 或 satisfaction_rate。"), "invalid_indicator"
        )
    return Filters(
        region=region,
        start=start,
        end=end,
        period=period,
        category=check_category(params.get("category")),
        indicator=indicator,
        trend=trend,
        rank=rank,
        big=params.get("screen") == "big",
    )
