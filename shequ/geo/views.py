"""Grid-management pages: the map and the region browser (township → community → grid)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from shequ.core.regions import Level
from shequ.core.scoping import (
    EVERYTHING,
    get_scoped_or_404,
    has_perm,
    require_page_perm,
    scope_codes,
)
from shequ.geo.mapdata import map_config
from shequ.geo.models import Region
from shequ.geo.selectors import grid_summary, region_children_with_counts


def _home_region(user) -> Region:
    """The region a user's map and browser open on: their scope, or the city."""
    codes = scope_codes(user, "geo.browse")
    if codes is EVERYTHING or not codes:
        return Region.objects.get(level=Level.CITY)
    if len(codes) == 1:
        return Region.objects.get(code=codes[0])
    common = codes[0]
    for code in codes[1:]:
        while not code.startswith(common):
            common = common[:-3]
    return Region.objects.filter(code=common).first() or Region.objects.get(level=Level.CITY)


@login_required
def map_page(request):
    require_page_perm(request.user, "geo.browse")
    region = _home_region(request.user)
    return render(
        request,
        "geo/map.html",
        {
            "region": region,
            "map_config": map_config(request.user),
        },
    )


@login_required
def region_browser(request, code: str | None = None):
    require_page_perm(request.user, "geo.browse")
    if code is None:
        region = _home_region(request.user)
    else:
        region = get_scoped_or_404(
            Region.objects.select_related("parent"),
            request.user,
            "geo.browse",
            field="code",
            code=code,
        )
    breadcrumbs = []
    node = region
    while node is not None:
        breadcrumbs.append(node)
        node = node.parent
    breadcrumbs.reverse()
    visible = [r for r in breadcrumbs if has_perm(request.user, "geo.browse", r.code)]
    context = {
        "region": region,
        "breadcrumbs": visible,
        "children": region_children_with_counts(region),
        "grid": grid_summary(region) if region.level == Level.GRID else None,
    }
    if request.headers.get("HX-Request"):
        return render(request, "geo/regions.html#region-panel", context)
    return render(request, "geo/regions.html", context)
