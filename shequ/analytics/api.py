"""Cockpit API (/api/v1/analytics/…): the closed-loop indicators (the same numbers as the
cockpit page: both call `shequ.cases.indicators.indicators`) and the early warnings.

Errors are {"code", "message", "details"}: 400 for malformed or absurd dates, an unknown
grouping, indicator or category; 404 for a region outside the caller's scope.
"""

import datetime as dt
from typing import Annotated

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from shequ.analytics import services
from shequ.analytics.filters import (
    PERM,
    check_category,
    check_group,
    check_range,
    check_region,
    home_region,
    parse_date,
    period_dates,
)
from shequ.analytics.selectors import cockpit_indicators, region_warnings
from shequ.cases.models import Category
from shequ.core.errors import InvalidInput
from shequ.core.scoping import require_page_perm
from shequ.geo.models import Region

API_PREFIX = "/analytics/"
# Parsed by filters.parse_date (400 `invalid_date`/`invalid_period`), documented as a date.
DateText = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
router = Router(tags=["analytics"])


class IndicatorValues(Schema):
    key: str | None = Field(description="分组键（区划代码、类别代码或日期）；不分组时为空")
    name: str | None = Field(default=None, description="区划或类别名称")
    reports: int = Field(description="上报数")
    valid_reports: int = Field(description="有效上报数")
    registered: int = Field(description="立案数")
    registration_rate: float | None
    closed: int
    overdue_open: int = Field(description="超期未结数")
    due: int = Field(description="应结案数")
    closed_on_time: int
    closure_rate: float | None = Field(description="结案率")
    on_time_rate: float | None = Field(description="按期结案率")
    rework: int
    rework_rate: float | None = Field(description="返工率")
    should_handle: int
    handled: int
    extended: int
    extension_rate: float | None
    avg_handling_hours: float | None = Field(description="平均处置时长（工作小时）")
    rated: int
    rated_share: float | None = Field(description="评价回访率 = 有效回访数 ÷ 结案数")
    satisfied: int
    basically_satisfied: int
    unsatisfied: int
    satisfaction_rate: float | None = Field(description="满意率")


class IndicatorsOut(Schema):
    region: str
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    category: str | None
    group_by: str | None
    total: IndicatorValues
    groups: list[IndicatorValues] | None = Field(description="按 group_by 分组的结果")


class WarningOut(Schema):
    id: int
    kind: str
    kind_label: str
    region_code: str
    category: str | None
    period_start: dt.date
    period_end: dt.date
    count: int
    baseline_mean: float | None
    baseline_sd: float | None
    lat: float | None
    lng: float | None
    case_ids: list[int]
    acknowledged_at: dt.datetime | None


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500)


def _names(group_by: str | None, keys: list[str]) -> dict[str, str]:
    if group_by in ("township", "community", "grid"):
        return dict(Region.objects.filter(code__in=keys).values_list("code", "name"))
    if group_by == "category":
        return dict(Category.objects.filter(code__in=keys).values_list("code", "name"))
    return {}


@router.get("indicators", response=IndicatorsOut, summary="闭环指标（驾驶舱口径）", by_alias=True)
def indicators(
    request,
    region: str | None = Query(None, description="区划代码（6/9/12/15 位），默认本人范围"),
    date_from: DateText | None = Query(None, alias="from", description="开始日期 YYYY-MM-DD"),  # noqa: B008
    date_to: DateText | None = Query(None, alias="to", description="结束日期 YYYY-MM-DD（含）"),  # noqa: B008
    category: str | None = Query(None, description="类别代码（大类含其小类）"),
    group_by: str | None = Query(
        None, description="township | community | grid | category | day | week | month"
    ),
    sort: str | None = Query(None, description="分组结果按此指标从高到低排序，如 on_time_rate"),
):
    """The indicators of governance rules §3 for a region and period; the same numbers as the
    cockpit page. Without `from`/`to` the current month to date."""
    require_page_perm(request.user, PERM)
    today = timezone.localdate()
    if date_from or date_to:
        if not (date_from and date_to):
            raise InvalidInput(
                _("请同时提供开始日期（from）和结束日期（to）。"),
                code="invalid_period",
                details={"field": "to" if date_from else "from"},
            )
        start, end = parse_date(date_from, "from"), parse_date(date_to, "to")
    else:
        start, end = period_dates("month", today)
    check_range(start, end, today)
    region = check_region(request.user, region) if region else home_region(request.user)
    group = check_group(group_by)
    category = check_category(category)
    if sort is not None and (sort in ("key", "name") or sort not in IndicatorValues.model_fields):
        raise InvalidInput(
            _("未知的指标：%(k)s。") % {"k": sort[:40]},
            code="invalid_indicator",
            details={"field": "sort"},
        )
    total = cockpit_indicators(region=region, start=start, end=end, category=category)
    groups = None
    if group:
        rows = cockpit_indicators(
            region=region, start=start, end=end, category=category, group_by=group
        )
        names = _names(group, [r.key for r in rows if r.key])
        groups = [
            {**r.as_dict(), "name": names.get(r.key) if r.key is not None else None} for r in rows
        ]
        if sort:
            groups.sort(key=lambda g: (g[sort] is None, -(g[sort] or 0), g["key"] or ""))
    return {
        "region": region,
        "from": start,
        "to": end,
        "category": category,
        "group_by": group,
        "total": total.as_dict(),
        "groups": groups,
    }


def _warning(w) -> dict:
    return {
        "id": w.pk,
        "kind": w.kind,
        "kind_label": str(w.get_kind_display()),
        "region_code": w.region_code,
        "category": w.category.code if w.category_id else None,
        "period_start": w.period_start,
        "period_end": w.period_end,
        "count": w.count,
        "baseline_mean": w.baseline_mean,
        "baseline_sd": w.baseline_sd,
        "lat": w.lat,
        "lng": w.lng,
        "case_ids": w.case_ids,
        "acknowledged_at": w.acknowledged_at,
    }


@router.get("warnings", response=list[WarningOut], summary="预警列表（按权限范围）")
def warning_list(
    request,
    region: str | None = Query(None, description="区划代码前缀"),
    open_only: bool = Query(False, alias="open", description="仅未确认的"),
):
    require_page_perm(request.user, PERM)
    region = check_region(request.user, region) if region else home_region(request.user)
    qs = region_warnings(request.user, region).select_related("category")
    if open_only:
        qs = qs.filter(acknowledged_at__isnull=True)
    return [_warning(w) for w in qs.order_by("-period_end", "-id")[:200]]


@router.post(
    "warnings/{warning_id}/acknowledge", response=WarningOut, summary="确认预警（记入审计日志）"
)
def warning_acknowledge(request, warning_id: int, payload: AcknowledgeIn | None = None):
    """→ 200 with the warning; 404 outside the caller's scope; 409 when already acknowledged."""
    require_page_perm(request.user, PERM)
    warning = services.warning_acknowledge(
        actor=request.user,
        warning_id=warning_id,
        note=(payload.note if payload else ""),
        request=request,
    )
    return _warning(warning)
