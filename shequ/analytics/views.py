"""Cockpit pages: the cockpit (desktop and 1920×1080 big screen), its xlsx export, the
"指标说明" page and early-warning cards. Views parse → selector/service → render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shequ.analytics import export, services
from shequ.analytics.definitions import BY_KEY, DEFINITIONS, MAP_INDICATORS
from shequ.analytics.filters import PERM, parse_filters
from shequ.analytics.models import EarlyWarning
from shequ.analytics.selectors import LEVEL_LABELS, Cockpit, name_of, region_warnings
from shequ.cases.access import visible_cases
from shequ.cases.models import Case, Category
from shequ.core.errors import InvalidInput, ServiceError
from shequ.core.exports import export_response
from shequ.core.scoping import get_scoped_or_404, require_page_perm
from shequ.geo.models import Region

PERIOD_CHOICES = (
    ("week", gettext_lazy("本周")),
    ("month", gettext_lazy("本月")),
    ("quarter", gettext_lazy("本季度")),
    ("year", gettext_lazy("本年")),
    ("custom", gettext_lazy("自定义")),
)


def _bad_request(request, exc: InvalidInput):
    return render(
        request,
        "analytics/bad_filters.html",
        {"message": exc.message, "code": exc.code, "details": exc.details},
        status=400,
    )


def _chart_data(cockpit: Cockpit) -> dict:
    f = cockpit.f
    trend = cockpit.trend()
    categories = cockpit.by_category()[:10]
    names = cockpit.category_names()
    definition = BY_KEY[f.indicator]
    return {
        "trend": {
            "keys": [r.key for r in trend],
            "reports": [r.reports for r in trend],
            "registered": [r.registered for r in trend],
            "closed": [r.closed for r in trend],
            "onTimeRate": [
                None if r.on_time_rate is None else round(r.on_time_rate * 100, 1) for r in trend
            ],
            "labels": {
                "reports": str(BY_KEY["reports"].label),
                "registered": str(BY_KEY["registered"].label),
                "closed": _("结案数"),
                "onTimeRate": str(BY_KEY["on_time_rate"].label) + " %",
            },
        },
        "categories": {
            "names": [name_of(names, r.key) for r in categories],
            "reports": [r.reports for r in categories],
            "label": str(BY_KEY["reports"].label),
        },
        "map": {
            "gridsUrl": f"/api/v1/geo/grids.geojson?within={f.region}",
            "focus": f.region,
            "values": cockpit.grid_values(),
            "indicator": f.indicator,
            "indicatorLabel": str(definition.label),
            "kind": definition.kind,
            "higherIsBetter": definition.higher_is_better,
            "hotspots": cockpit.hotspots(),
            "drillUrl": "?" + f.query(region="__CODE__"),
            "noData": _("无数据"),
            "casesLabel": _("件"),
        },
        "big": f.big,
    }


@login_required
def cockpit(request):
    """The leaders' cockpit (驾驶舱) for the region, period and category group in the URL."""
    require_page_perm(request.user, PERM)
    try:
        f = parse_filters(request.user, request.GET)
    except InvalidInput as exc:
        return _bad_request(request, exc)
    data = Cockpit(request.user, f)
    tables = data.tables()
    context = {
        "f": f,
        "cockpit": data,
        "kpis": data.kpis(),
        "tables": tables,
        "rankings": [
            {
                "table": t,
                "rows": [
                    {"code": row["_code"], "cells": cells, "query": f.query(region=row["_code"])}
                    for row, cells in zip(t.rows, t.display_rows(), strict=True)
                ],
            }
            for t in tables
            if t.id.startswith("rank-")
        ],
        "category_table": next(t for t in tables if t.id == "categories"),
        "trend_table": next(t for t in tables if t.id == "trend"),
        "breadcrumbs": [{**c, "query": f.query(region=c["code"])} for c in data.breadcrumbs()],
        "region_name": data.names().get(f.region, f.region),
        "level_label": LEVEL_LABELS[f.level],
        "red_cases": data.red_cases(),
        "grid_cases": data.grid_cases() if f.level == "grid" else None,
        "warnings": data.warnings(),
        "chart_data": _chart_data(data),
        "periods": PERIOD_CHOICES,
        "groups": Category.objects.filter(parent__isnull=True).order_by("order", "code"),
        "indicators": [(key, BY_KEY[key].label) for key in MAP_INDICATORS],
        "query": f.query(),
        "big_query": f.query(screen="big"),
        "desktop_query": f.query(screen=""),
        "now": timezone.now(),
    }
    return render(request, "analytics/cockpit.html", context)


@login_required
def cockpit_export(request):
    """The current view's tables as xlsx, with a sheet of formula notes (audited)."""
    require_page_perm(request.user, PERM)
    try:
        f = parse_filters(request.user, request.GET)
    except InvalidInput as exc:
        return _bad_request(request, exc)
    data = Cockpit(request.user, f)
    return export_response(export.cockpit_export(actor=request.user, cockpit=data, request=request))


@login_required
def definitions(request):
    """指标说明: each indicator's formula and source."""
    require_page_perm(request.user, PERM)
    return render(request, "analytics/definitions.html", {"definitions": DEFINITIONS})


@login_required
def warning_detail(request, pk: int):
    require_page_perm(request.user, PERM)
    warning = get_scoped_or_404(
        EarlyWarning.objects.select_related("category", "acknowledged_by"),
        request.user,
        PERM,
        pk=pk,
    )
    cases = (
        visible_cases(request.user, Case.objects.filter(pk__in=warning.case_ids))
        .select_related("category")
        .order_by("-reported_at", "-id")
    )
    return render(
        request,
        "analytics/warning.html",
        {
            "warning": warning,
            "grid_name": Region.objects.filter(code=warning.region_code)
            .values_list("name", flat=True)
            .first(),
            "cases": list(cases),
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def warning_acknowledge(request, pk: int):
    require_page_perm(request.user, PERM)
    try:
        services.warning_acknowledge(
            actor=request.user,
            warning_id=pk,
            note=request.POST.get("note", ""),
            request=request,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已确认该预警。"))
    target = request.POST.get("next") or reverse("analytics-warning", args=[pk])
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("analytics-warning", args=[pk])
    return redirect(target)


def warnings_for(user, region: str):
    """Scoped warnings of a region (the API list)."""
    return region_warnings(user, region)
