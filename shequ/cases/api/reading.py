"""Reading endpoints: the category tree, the scoped case list, duplicate candidates, one case
with its timeline, and a case's photos."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query

from shequ.cases import selectors
from shequ.cases.api.base import MAX_PAGE, MAX_PAGE_SIZE, router
from shequ.cases.api.parsing import body_error
from shequ.cases.api.serializers import (
    CaseDetail,
    CasePage,
    CategoryGroupOut,
    DuplicateOut,
    case_item,
    category_item,
    detail,
)
from shequ.cases.categories import resolve_category
from shequ.cases.views import photo_response
from shequ.cases.workflow import Channel
from shequ.cases.workflow import Status as CaseStatus
from shequ.core.params import ApiDate


@router.get("categories", response=list[CategoryGroupOut], summary="问题类别（大类/小类）")
def category_list(request):
    """The category tree with time limits, handler types and Open311-shaped attributes."""
    return [
        {"code": g.code, "name": g.name, "children": [category_item(c) for c in g.children.all()]}
        for g in selectors.categories_tree()
    ]


@router.get("cases", response=CasePage, summary="案件列表（按权限范围）")
def case_list(
    request,
    status: str | None = Query(None, description="逗号分隔；open 表示所有未结状态"),
    category: str | None = None,
    channel: str | None = None,
    region: str | None = Query(None, description="区划代码前缀"),
    overdue: bool | None = None,
    mine: bool = False,
    assigned: bool = Query(False, description="派给我所在处置单位的"),
    date_from: ApiDate | None = Query(None, alias="from"),  # noqa: B008
    date_to: ApiDate | None = Query(None, alias="to"),  # noqa: B008
    q: str | None = Query(None, description="案件编号或来源工单号"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
):
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else None
    for value in statuses or []:
        if value != "open" and value not in CaseStatus.values:
            raise body_error("status", _("未知的状态：%(s)s。") % {"s": value})
    if channel and channel not in Channel.values:
        raise body_error("channel", _("未知的来源渠道：%(c)s。") % {"c": channel})
    if region and not (region.isdigit() and len(region) in (6, 9, 12, 15)):
        raise body_error("region", _("区划代码无效：应为 6、9、12 或 15 位数字。"))
    tz = timezone.get_current_timezone()
    qs = selectors.case_search(
        request.user,
        status=statuses,
        category=category,
        channel=channel,
        region=region,
        overdue=overdue,
        mine=mine,
        assigned=assigned,
        reported_from=dt.datetime.combine(date_from, dt.time(), tzinfo=tz) if date_from else None,
        reported_to=(
            dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=tz)
            if date_to
            else None
        ),
        q=q,
    )
    count = qs.count()
    start = (page - 1) * page_size
    now = timezone.now()
    return {
        "count": count,
        "page": page,
        "page_size": page_size,
        "items": [case_item(case, now) for case in qs[start : start + page_size]],
    }


@router.get("cases/duplicates", response=list[DuplicateOut], summary="疑似重复（附近同类未结案件）")
def duplicate_list(request, category: str, lat: float, lng: float):
    """Open cases of the same category within the category's radius and days — no personal
    data, so residents can follow one (我也遇到) instead of filing again."""
    found = resolve_category(category)
    if found is None:
        raise body_error("category", _("未知的问题类别：%(code)s。") % {"code": category})
    return selectors.duplicate_candidates(category=found, lat=lat, lng=lng, user=request.user)


@router.get("cases/{int:case_id}", response=CaseDetail, summary="案件详情（含流转记录）")
def case_get(request, case_id: int):
    return detail(selectors.case_for_user(request.user, case_id))


@router.get(
    "cases/{int:case_id}/photos/{int:photo_id}",
    url_name="case_photo",
    summary="案件照片（仅限有权查看案件的人）",
)
def case_photo(request, case_id: int, photo_id: int, thumb: bool = False):
    return photo_response(request.user, photo_id, thumb=thumb, case_id=case_id)
