"""The demo grid worker's inbox: topped up with this morning's reports through `case_report`."""

from shequ.accounts.models import Assignment
from shequ.cases import selectors, services
from shequ.cases.demo.patterns import Actors
from shequ.cases.models import Category
from shequ.geo.models import Region

DEMO_INBOX_MINIMUM = 3
FRESH_REPORTS = ("单元门口有垃圾堆放", "楼道灯不亮", "小区路面有坑洼")


def work_for_the_demo_grid_worker(actors: Actors) -> None:
    """However the simulation's cut at "now" fell today, the demo grid worker (`grid`) opens
    an inbox with work in it: top it up with this morning's reports from the demo resident,
    filed and auto-dispatched through `case_report` as a real report would be."""
    worker = Assignment.objects.filter(
        user__username="grid", role="grid_worker", is_active=True
    ).select_related("user", "region")
    assignment = worker.first()
    if assignment is None or not actors.resident:
        return
    user, grid = assignment.user, assignment.region
    assert grid is not None  # a grid worker's assignment names its grid
    missing = DEMO_INBOX_MINIMUM - selectors.inbox(user).count()
    category = (
        Category.objects.filter(
            parent__isnull=False,
            is_active=True,
            auto_dispatch=True,
            handler_type="grid",
            photo_required=False,
            attributes__isnull=True,
        )
        .order_by("code")
        .first()
    )
    if missing <= 0 or category is None or grid.centroid_lat is None:
        return
    reporter = type(user).objects.get(pk=actors.resident[0])
    grid = Region.objects.get(pk=grid.pk)
    for description in FRESH_REPORTS[:missing]:
        services.case_report(
            actor=reporter,
            category=category.code,
            description=description,
            lat=grid.centroid_lat,
            lng=grid.centroid_lng,
        )
