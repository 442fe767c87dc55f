"""Reads of the closed loop: inboxes, the dispatch board, the verification queue, a resident's
cases, one case with its timeline, duplicate suggestions. Every list goes through the scoping
helper (`access.visible_cases` → `core.scoping.scoped`)."""

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone

from shequ.cases import access
from shequ.cases.indicators import indicators  # noqa: F401 - re-exported for the cockpit
from shequ.cases.models import (
    Case,
    CaseEvent,
    CaseFollow,
    CasePhoto,
    CaseRating,
    Category,
    CategoryAttribute,
)
from shequ.cases.workflow import (
    OPEN_STATUSES,
    REOPEN_DAYS,
    STAFF_ENTRY_CHANNELS,
    TRANSITIONS,
    Action,
    RatingSource,
    Status,
)
from shequ.core.actors import AnyUser, User
from shequ.core.masking import mask_free_text
from shequ.core.scoping import prefix_q, scoped

LIST_RELATED = ("category", "category__parent")


def _base(user: AnyUser) -> QuerySet[Case]:
    return access.visible_cases(user, Case.objects.select_related(*LIST_RELATED))


def case_search(
    user: User,
    *,
    status: str | list[str] | None = None,
    category: str | None = None,
    channel: str | None = None,
    region: str | None = None,
    overdue: bool | None = None,
    mine: bool = False,
    assigned: bool = False,
    reported_from: dt.datetime | dt.date | None = None,
    reported_to: dt.datetime | dt.date | None = None,
    q: str | None = None,
) -> QuerySet[Case]:
    """Cases the user may see, filtered (the API's GET /cases and the staff case list)."""
    qs = _base(user)
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        if "open" in statuses:
            statuses = [s for s in statuses if s != "open"] + [s.value for s in OPEN_STATUSES]
        qs = qs.filter(status__in=statuses)
    if category:
        qs = qs.filter(Q(category__code=category) | Q(category__parent__code=category))
    if channel:
        qs = qs.filter(channel=channel)
    if region:
        qs = qs.filter(prefix_q("region_code", region))
    if overdue is not None:
        now = timezone.now()
        late = Q(step_due_at__isnull=False, step_due_at__lte=now)
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if mine:
        qs = qs.filter(reporter=user)
    if assigned:
        unit = access.handler_unit_q(user)
        qs = qs.filter(unit) if unit is not None else qs.none()
    if reported_from:
        qs = qs.filter(reported_at__gte=reported_from)
    if reported_to:
        qs = qs.filter(reported_at__lt=reported_to)
    if q:
        qs = qs.filter(Q(code__iexact=q.strip()) | Q(source_ref=q.strip()))
    return qs.order_by("-reported_at", "-id")


def inbox(user: User) -> QuerySet[Case]:
    """A handler's to-do list: cases dispatched to their unit and not yet taken, plus the ones
    they took; soonest due first (the overdue on top)."""
    unit = access.handler_unit_q(user)
    if unit is None:
        return Case.objects.none()
    return (
        _base(user)
        .filter(unit, status__in=[Status.DISPATCHED, Status.ACCEPTED])
        .filter(Q(status=Status.DISPATCHED) | Q(handler=user))
        .order_by("step_due_at", "id")
    )


BOARD_TABS = {
    "reported": Q(status=Status.REPORTED),
    "registered": Q(status=Status.REGISTERED),
    "overdue": Q(status__in=list(OPEN_STATUSES), step_due_at__isnull=False),
    "extension": Q(
        status__in=[Status.DISPATCHED, Status.ACCEPTED], extension_requested__isnull=False
    ),
    "escalated": Q(status__in=list(OPEN_STATUSES), escalation_level__gt=0),
    "open": Q(status__in=list(OPEN_STATUSES)),
}


def board(user: AnyUser, tab: str, *, category: str | None = None) -> QuerySet[Case]:
    """The dispatch board of community/township/city staff."""
    qs = scoped(Case.objects.select_related(*LIST_RELATED), user, "cases.dispatch").filter(
        BOARD_TABS[tab]
    )
    if tab == "overdue":
        qs = qs.filter(step_due_at__lte=timezone.now())
    if category:
        qs = qs.filter(Q(category__code=category) | Q(category__parent__code=category))
    order = ("step_due_at", "id") if tab != "reported" else ("reported_at", "id")
    return qs.order_by(*order)


def board_counts(user: AnyUser) -> dict[str, int]:
    """How many cases each board tab holds (one query)."""
    now = timezone.now()
    qs = scoped(Case.objects.all(), user, "cases.dispatch")
    aggregates = {
        tab: Count("id", filter=condition & (Q(step_due_at__lte=now) if tab == "overdue" else Q()))
        for tab, condition in BOARD_TABS.items()
    }
    return qs.aggregate(**aggregates)


def open_by_category(user: AnyUser) -> list[dict[str, Any]]:
    """Open cases per 大类 in the user's dispatch scope (the board's "by category")."""
    now = timezone.now()
    rows = (
        scoped(Case.objects.all(), user, "cases.dispatch")
        .filter(status__in=list(OPEN_STATUSES))
        .values("category__parent__code", "category__parent__name")
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=Q(step_due_at__lte=now)),
        )
        .order_by("category__parent__code")
    )
    # The stubs type these rows as a TypedDict; callers take them as plain dicts.
    return list(cast(Iterable[dict[str, Any]], rows))


def verification_queue(user: User) -> QuerySet[Case]:
    """Handled cases awaiting a check, except those the user handled themselves."""
    return (
        scoped(Case.objects.select_related(*LIST_RELATED), user, "cases.verify")
        .filter(status=Status.HANDLED)
        .exclude(handler=user)
        .order_by("step_due_at", "id")
    )


def visit_queue(user: AnyUser) -> QuerySet[Case]:
    """回访: closed cases that came in by phone, hotline or at the desk (the reporter has no
    account to rate with) and have no 回访 result for this round yet — oldest closure first."""
    visited = CaseRating.objects.filter(
        case=OuterRef("pk"), round=OuterRef("reopen_count"), source=RatingSource.VISIT
    )
    return (
        scoped(Case.objects.select_related(*LIST_RELATED), user, "cases.visit")
        .filter(status=Status.CLOSED, channel__in=list(STAFF_ENTRY_CHANNELS))
        .exclude(Exists(visited))
        .order_by("closed_at", "id")
    )


def my_cases(user: User) -> QuerySet[Case]:
    """A resident's cases: reported by them or followed (我也遇到)."""
    followed = CaseFollow.objects.filter(user=user).values("case_id")
    return (
        Case.objects.select_related(*LIST_RELATED)
        .filter(Q(reporter=user) | Q(pk__in=followed))
        .order_by("-reported_at", "-id")
    )


@dataclass
class CaseView:
    case: Case
    limited: bool  # a follower's view: the public fields only (no grid, names, contact…)
    events: list[CaseEvent]
    photos_by_event: dict[int | None, list[CasePhoto]]
    actions: list[str]
    can_reveal_contact: bool
    hide_place: bool = False  # a follower of a sensitive case: no location, grid or unit


def case_for_user(user: User, pk: int | str) -> CaseView:
    """One case with its timeline, as far as `user` may see it (else 404)."""
    qs = Case.objects.select_related(
        "category", "category__parent", "handler", "reporter", "handler_company", "merged_into"
    )
    limited = False
    try:
        case = access.get_case_or_404(user, pk, qs)
    except Http404:
        # A follower sees what the public sees (Open311's fields), never more.
        followed = qs.filter(pk=pk, follows__user=user).first() if str(pk).isdigit() else None
        if followed is None:
            raise
        case = followed
        limited = True
    event_qs = CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id")
    staff = not limited and access.sees_as_staff(user, case)
    if not staff:
        event_qs = event_qs.filter(public=True)
    events = list(event_qs)
    hide_place = limited and access.is_sensitive(case.category)
    if limited:
        # The public text of a note (phone and ID numbers masked); none for a sensitive case,
        # whose notes may name the household. Never saved: the objects are only read.
        for event in events:
            event.note = "" if hide_place else mask_free_text(event.note) or ""
    photos_by_event: dict[int | None, list[CasePhoto]] = {}
    if not limited:
        for photo in CasePhoto.objects.filter(case=case).order_by("created_at", "id"):
            photos_by_event.setdefault(photo.event_id, []).append(photo)
    return CaseView(
        case=case,
        limited=limited,
        events=events,
        photos_by_event=photos_by_event,
        actions=[] if limited else available_actions(user, case),
        can_reveal_contact=not limited
        and bool(case.contact_phone)
        and access.has_perm(user, "cases.visit", case.region_code),
        hide_place=hide_place,
    )


def available_actions(user: AnyUser, case: Case, now: dt.datetime | None = None) -> list[str]:
    """Actions `user` may take on `case` now (status table + permission + state rules)."""
    now = now or timezone.now()
    result = []
    for action, rule in TRANSITIONS.items():
        if case.status not in rule.sources or not access.can_act(user, case, action):
            continue
        if action == Action.EXTEND and case.extension_requested is not None:
            continue
        if action == Action.APPROVE_EXTENSION and case.extension_requested is None:
            continue
        if action == Action.SUPERVISE and case.supervised:
            continue
        if action == Action.REOPEN and (
            case.reopen_count >= 1
            or case.closed_at is None
            or (now - case.closed_at).days >= REOPEN_DAYS
        ):
            continue
        if action == Action.ESCALATE:
            position, length = case.ladder_position()
            if position + 1 >= length:
                continue
        if action in (Action.RATE, Action.VISIT):
            source = RatingSource.RESIDENT if action == Action.RATE else RatingSource.VISIT
            if CaseRating.objects.filter(
                case=case, round=case.reopen_count, source=source
            ).exists():
                continue
        result.append(action.value)
    return result


@dataclass
class Duplicate:
    case_id: int
    category: str
    status: str
    status_label: str
    distance_m: int
    reported_at: object
    followers: int


def _distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    k = math.pi / 180
    x = (lng2 - lng1) * k * math.cos((lat1 + lat2) / 2 * k)
    return 6371000 * math.hypot(x, (lat2 - lat1) * k)


def duplicate_candidates(
    *,
    category: Category,
    lat: float,
    lng: float,
    now: dt.datetime | None = None,
    limit: int = 5,
    user: AnyUser | None = None,
) -> list[Duplicate]:
    """Open cases of the same category within the category's radius (50 m) and days (7),
    nearest first. Returns no personal data: residents see these before filing. With `user`,
    only the cases they may follow (a sensitive case of another grid is not even hinted at:
    its distance would place it)."""
    now = now or timezone.now()
    radius = category.duplicate_radius_m
    box_lat = radius / 111_000 * 1.2
    box_lng = box_lat / max(math.cos(math.radians(lat)), 0.1)
    base = Case.objects.all() if user is None else access.followable_cases(user)
    rows = base.filter(
        category=category,
        status__in=list(OPEN_STATUSES),
        reported_at__gte=now - dt.timedelta(days=category.duplicate_days),
        lat__range=(lat - box_lat, lat + box_lat),
        lng__range=(lng - box_lng, lng + box_lng),
    ).values("id", "status", "lat", "lng", "reported_at", "follower_count")
    found = []
    for row in rows:
        assert row["lat"] is not None and row["lng"] is not None  # the range excludes NULL
        distance = _distance_m(lat, lng, row["lat"], row["lng"])
        if distance <= radius:
            found.append(
                Duplicate(
                    case_id=row["id"],
                    category=category.name,
                    status=row["status"],
                    status_label=str(Status(row["status"]).label),
                    distance_m=round(distance),
                    reported_at=row["reported_at"],
                    followers=row["follower_count"],
                )
            )
    found.sort(key=lambda d: (d.distance_m, d.case_id))
    return found[:limit]


def categories_tree() -> list[Category]:
    """Active 大类 with their active 小类 and attributes (3 queries)."""
    leaves = Category.objects.filter(is_active=True).prefetch_related(
        Prefetch("attributes", queryset=CategoryAttribute.objects.order_by("order", "id"))
    )
    return list(
        Category.objects.filter(parent__isnull=True, is_active=True)
        .prefetch_related(Prefetch("children", queryset=leaves.order_by("order", "code")))
        .order_by("order", "code")
    )


def overdue_gauge() -> list[tuple[tuple[str], float]]:
    """Samples for /metrics: ((township code,), open cases past their step deadline)."""
    rows = (
        Case.objects.filter(status__in=list(OPEN_STATUSES), step_due_at__lte=timezone.now())
        .annotate(township=Substr("region_code", 1, 9))
        .values("township")
        .annotate(n=Count("id"))
        .order_by("township")
    )
    return [((row["township"],), float(row["n"])) for row in rows]
