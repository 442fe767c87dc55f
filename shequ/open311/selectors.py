"""Reads for Open311: services (leaf categories), requests (cases) and their updates.

Open311 reads are public (no key needed, as the spec intends): they are not a user's scoped
list, so they show the whole city, but only the public fields chosen in `representation`.
"""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Prefetch, Q, QuerySet

from shequ.cases.models import Case, CaseEvent, Category, CategoryAttribute
from shequ.cases.workflow import OPEN_STATUSES
from shequ.geo.models import Region
from shequ.open311.representation import UPDATE_ACTIONS

REQUEST_RELATED = ("category", "category__parent", "building", "handler_company")


def services() -> QuerySet[Category]:
    return (
        Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True)
        .select_related("parent")
        .annotate(attribute_count=Count("attributes"))
        .order_by("parent__order", "parent__code", "order", "code")
    )


def service(code: str) -> Category | None:
    return (
        Category.objects.filter(
            code=code, is_active=True, parent__isnull=False, parent__is_active=True
        )
        .select_related("parent")
        .prefetch_related(
            Prefetch("attributes", queryset=CategoryAttribute.objects.order_by("order", "id"))
        )
        .first()
    )


def requests(
    *,
    ids: list[str] | None = None,
    service_codes: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    statuses: list[str] | None = None,
) -> QuerySet[Case]:
    qs = Case.objects.select_related(*REQUEST_RELATED)
    if ids is not None:
        return qs.filter(code__in=ids).order_by("-reported_at", "-id")
    if service_codes:
        qs = qs.filter(category__code__in=service_codes)
    if start is not None:
        qs = qs.filter(reported_at__gte=start)
    if end is not None:
        qs = qs.filter(reported_at__lte=end)
    if statuses and set(statuses) != {"open", "closed"}:
        open_ = Q(status__in=[s.value for s in OPEN_STATUSES])
        qs = qs.filter(open_ if "open" in statuses else ~open_)
    return qs.order_by("-reported_at", "-id")


def unit_names(cases: Iterable[Case]) -> dict[str, str]:
    """handler unit code → a readable name (a grid with its community: 丹凤社区第一网格)."""
    codes = {c.handler_unit_code for c in cases if c.handler_unit_code}
    wanted = codes | {code[:12] for code in codes if len(code) == 15}
    names = dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))
    return {
        code: (names.get(code[:12], "") if len(code) == 15 else "") + names.get(code, "")
        for code in codes
        if code in names
    }


def _public_events() -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(public=True, action__in=UPDATE_ACTIONS)


def last_public_notes(cases: Iterable[Case]) -> dict[int, str]:
    """case id → the latest public note of its timeline (status_notes)."""
    ids = [c.pk for c in cases]
    notes: dict[int, str] = {}
    rows = (
        _public_events()
        .filter(case_id__in=ids)
        .exclude(note="")
        .order_by("case_id", "at", "id")
        .values_list("case_id", "note")
    )
    for case_id, note in rows:
        notes[case_id] = note  # ordered by time: the last one wins
    return notes


def updates(
    *,
    ids: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> QuerySet[CaseEvent]:
    qs = _public_events().select_related("case", "case__category", "case__category__parent")
    if ids is not None:
        qs = qs.filter(case__code__in=ids)
    if start is not None:
        qs = qs.filter(at__gte=start)
    if end is not None:
        qs = qs.filter(at__lte=end)
    return qs.order_by("at", "id")


def case_by_code(code: str) -> Case | None:
    return Case.objects.select_related(*REQUEST_RELATED).filter(code=code).first()
