"""Reads of the points platform: task lists, balances and history, the store, reports,
recognition (one's own 星级 by thresholds, units compared — never a ranking of people, 国办函〔2026〕
12号) and the volunteer-service certificate. Scoped lists go through core.scoping."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Substr
from django.utils import timezone

from shequ.core.actors import AnyUser, User
from shequ.core.scoping import has_perm, scoped
from shequ.geo.models import Region
from shequ.people.models import Person
from shequ.points import clock
from shequ.points import permissions as P
from shequ.points.choices import (
    AccountKind,
    ClaimStatus,
    OrderStatus,
    PointKind,
    TaskKind,
    TaskStatus,
)
from shequ.points.models import (
    Account,
    Claim,
    Entry,
    Merchant,
    MerchantPayment,
    MerchantSettlement,
    Order,
    StockIn,
    Store,
    StoreItem,
    Task,
    VolunteerRecord,
)
from shequ.points.services.common import month_start, person_of
from shequ.points.services.merchants import month_bounds

# ---------------------------------------------------------------------------------------------
# Tasks


def task_square(person: Person, *, tab: str = "near", limit: int = 50) -> list[Task]:
    """Open tasks of the resident's community: their own grid first ("near"), or newest first."""
    community = person.region_code[:12]
    qs = Task.objects.filter(
        region_code__startswith=community,
        status__in=(TaskStatus.PUBLISHED, TaskStatus.FULL, TaskStatus.IN_PROGRESS),
        ends_at__gt=clock.now(),
    )
    if tab == "new":
        qs = qs.order_by("-published_at", "-id")
    else:
        qs = qs.annotate(
            near=Case(
                When(region_code__startswith=person.region_code, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        ).order_by("near", "starts_at", "id")
    return list(qs[:limit])


def visible_task(user: AnyUser, pk: int) -> Task | None:
    """A task the user may open: staff in scope, or residents of its community (open tasks and
    tasks they claimed or asked for)."""
    task = (
        Task.objects.select_related("funding_account", "beneficiary", "publisher")
        .filter(pk=pk)
        .first()
    )
    if task is None:
        return None
    if has_perm(user, P.VIEW, task.region_code):
        return task
    person = person_of(user)
    if person is None or not has_perm(user, P.PARTICIPATE):
        return None
    if task.beneficiary_id == person.pk or task.claims.filter(person=person).exists():
        return task
    if task.status != TaskStatus.DRAFT and person.region_code.startswith(task.region_code[:12]):
        return task
    return None


def staff_tasks(user: AnyUser, *, status: str = "", q: str = "") -> QuerySet[Task]:
    qs = scoped(Task.objects.all(), user, P.VIEW).order_by("-starts_at", "-id")
    if status in TaskStatus.values:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(title__icontains=q[:50])
    return qs


def pending_confirmations(user: AnyUser, *, limit: int = 50) -> list[Claim]:
    claims = scoped(
        Claim.objects.filter(status=ClaimStatus.CHECKED_OUT).select_related("task", "person"),
        user,
        P.CONFIRM,
        field="task__region_code",
    )
    return list(claims.order_by("checked_out_at", "id")[:limit])


def task_claims(task: Task) -> list[Claim]:
    return list(task.claims.select_related("person", "confirmed_by").order_by("claimed_at", "id"))


def my_claims(person: Person) -> list[Claim]:
    return list(
        Claim.objects.filter(person=person)
        .select_related("task")
        .order_by("-task__starts_at", "-id")[:100]
    )


def my_help_requests(person: Person) -> list[Task]:
    return list(
        Task.objects.filter(kind=TaskKind.HELP, beneficiary=person).order_by("-created_at")[:50]
    )


# ---------------------------------------------------------------------------------------------
# Balances and history


@dataclass
class Balances:
    volunteer: int = 0
    party: int = 0
    hours: Decimal = Decimal("0")


def balances(person: Person) -> Balances:
    result = Balances()
    for kind, balance in Account.objects.filter(
        kind=AccountKind.RESIDENT, person=person
    ).values_list("point_kind", "balance"):
        setattr(result, kind, balance)
    result.hours = VolunteerRecord.objects.filter(person=person).aggregate(h=Sum("hours"))[
        "h"
    ] or Decimal("0")
    return result


def history(person: Person, *, before: int | None = None, limit: int = 20) -> list[Entry]:
    """The person's entries, newest first (keyset paging on the entry id)."""
    qs = Entry.objects.filter(
        account__kind=AccountKind.RESIDENT, account__person=person
    ).select_related("transfer", "account")
    if before:
        qs = qs.filter(id__lt=before)
    return list(qs.order_by("-id")[:limit])


# ---------------------------------------------------------------------------------------------
# Store


def store_for(person: Person) -> Store | None:
    return (
        Store.objects.filter(is_active=True, region_code=person.region_code[:12])
        .order_by("id")
        .first()
    )


def visible_store_item(user: AnyUser, pk: int | str) -> StoreItem | None:
    """An item of a store the user may see: their own community's store (residents) or one in
    their scope (staff). Else None — a 404, never "another community's store", which would
    tell that the item exists."""
    item = StoreItem.objects.select_related("store").filter(pk=pk).first()
    if item is None:
        return None
    region = item.store.region_code
    if has_perm(user, P.VIEW, region) or has_perm(user, P.MANAGE_STORE, region):
        return item
    person = person_of(user)
    if person is not None and person.region_code.startswith(region):
        return item
    return None


def confirmable_claim(user: AnyUser, pk: int | str) -> Claim | None:
    """A claim the user may confirm: as the task's beneficiary, or as staff with the confirm
    permission at the task's place. Else None (404)."""
    claim = (
        Claim.objects.select_related("task", "task__beneficiary", "person").filter(pk=pk).first()
    )
    if claim is None:
        return None
    task = claim.task
    if has_perm(user, P.CONFIRM, task.region_code):
        return claim
    beneficiary = task.beneficiary
    if (
        beneficiary is not None
        and beneficiary.user_id is not None
        and beneficiary.user_id == user.pk
    ):
        return claim
    return None


def store_items(store: Store, *, active_only: bool = True) -> list[StoreItem]:
    qs = store.items.all()
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("price", "name"))


def month_used(person: Person, store: Store) -> dict[int, int]:
    """Quantity of each item the person redeemed this month (cancelled orders excluded)."""

    rows = (
        Order.objects.filter(person=person, store=store, created_at__gte=month_start())
        .exclude(status=OrderStatus.CANCELLED)
        .values("item_id")
        .annotate(n=Sum("quantity"))
    )
    return {row["item_id"]: row["n"] for row in rows}


def my_orders(person: Person) -> list[Order]:
    return list(Order.objects.filter(person=person).select_related("item", "store")[:100])


def staff_stores(user: AnyUser) -> QuerySet[Store]:
    return scoped(Store.objects.all(), user, P.MANAGE_STORE).order_by("region_code", "name")


def staff_orders(
    user: AnyUser, store: Store, *, status: str = OrderStatus.PENDING, limit: int = 100
) -> list[Order]:
    qs = scoped(
        Order.objects.filter(store=store).select_related("item", "person", "picked_up_by"),
        user,
        P.MANAGE_STORE,
    )
    if status in OrderStatus.values:
        qs = qs.filter(status=status)
    return list(qs.order_by("-created_at", "-id")[:limit])


def reconciliation(store: Store) -> dict[str, Any]:
    """账物相符: per item, stock in − handed out − awaiting pickup = stock on the shelf; and the
    store's points balance = the points of orders not cancelled."""
    items = list(store.items.order_by("name"))
    stock_in = dict(
        StockIn.objects.filter(item__store=store)
        .values("item_id")
        .annotate(n=Sum("quantity"))
        .values_list("item_id", "n")
    )
    by_status: dict[tuple[int, str], Mapping[str, Any]] = {}
    for row in (
        Order.objects.filter(store=store)
        .values("item_id", "status")
        .annotate(n=Sum("quantity"), points=Sum("points"))
    ):
        by_status[(row["item_id"], row["status"])] = row
    rows = []
    all_matched = True
    for item in items:
        received = stock_in.get(item.pk, 0)
        out = by_status.get((item.pk, OrderStatus.PICKED_UP), {}).get("n") or 0
        pending = by_status.get((item.pk, OrderStatus.PENDING), {}).get("n") or 0
        expected = received - out - pending
        matched = expected == item.stock
        all_matched &= matched
        rows.append(
            {
                "item": item,
                "stock_in": received,
                "handed_out": out,
                "pending": pending,
                "expected": expected,
                "stock": item.stock,
                "matched": matched,
                "points_handed_out": by_status.get((item.pk, OrderStatus.PICKED_UP), {}).get(
                    "points"
                )
                or 0,
            }
        )
    points_expected = (
        Order.objects.filter(store=store)
        .exclude(status=OrderStatus.CANCELLED)
        .aggregate(p=Sum("points"))["p"]
        or 0
    )
    points_balance = (
        Account.objects.filter(kind=AccountKind.STORE, store=store).aggregate(b=Sum("balance"))["b"]
        or 0
    )
    donations = (
        StockIn.objects.filter(item__store=store, source="donation")
        .values("donor")
        .annotate(n=Sum("quantity"), times=Count("id"))
        .order_by("-n")
    )
    return {
        "store": store,
        "items": rows,
        "points_expected": points_expected,
        "points_balance": points_balance,
        "matched": all_matched and points_expected == points_balance,
        "donations": list(donations),
    }


# ---------------------------------------------------------------------------------------------
# Merchants


def merchants_for(user: AnyUser) -> QuerySet[Merchant]:
    return scoped(Merchant.objects.all(), user, P.MANAGE_MERCHANTS).order_by("name")


def settlement_report(
    user: AnyUser, month: date, point_kind: str = PointKind.VOLUNTEER
) -> list[dict[str, Any]]:
    start, end = month_bounds(month)
    merchants = list(merchants_for(user))
    totals: dict[int, Mapping[str, Any]] = {
        row["merchant_id"]: row
        for row in MerchantPayment.objects.filter(
            merchant__in=merchants, point_kind=point_kind, created_at__gte=start, created_at__lt=end
        )
        .values("merchant_id")
        .annotate(count=Count("id"), points=Sum("points"), yuan=Sum("yuan"))
    }
    settled = {
        s.merchant_id: s
        for s in MerchantSettlement.objects.filter(
            merchant__in=merchants, month=month.replace(day=1), point_kind=point_kind
        )
    }
    return [
        {
            "merchant": m,
            "count": totals.get(m.pk, {}).get("count") or 0,
            "points": totals.get(m.pk, {}).get("points") or 0,
            "yuan": Decimal(totals.get(m.pk, {}).get("yuan") or 0).quantize(Decimal("0.01")),
            "settlement": settled.get(m.pk),
        }
        for m in merchants
    ]


def till_merchants(user: User) -> list[Merchant]:
    if user.is_superuser:
        return list(Merchant.objects.filter(is_active=True))
    return list(user.points_merchants.filter(is_active=True))


def recent_payments(merchant: Merchant, limit: int = 20) -> list[MerchantPayment]:
    return list(merchant.payments.select_related("person")[:limit])


# ---------------------------------------------------------------------------------------------
# Recognition


def parse_month(value: str | None) -> date:
    today = clock.today()
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError):
        return today.replace(day=1)


STAR_NAMES = ("", "一星", "二星", "三星", "四星", "五星")


def star_level(hours: Decimal | int | None) -> dict[str, Any]:
    """星级 from one person's own cumulative hours against SHEQU_POINTS_STAR_HOURS (thresholds,
    never a ranking): the stars reached, the next threshold and the hours still to go."""
    thresholds = [Decimal(t) for t in settings.SHEQU_POINTS_STAR_HOURS]
    hours = Decimal(hours or 0)
    stars = sum(1 for t in thresholds if hours >= t)
    following = thresholds[stars] if stars < len(thresholds) else None
    return {
        "stars": stars,
        "of": len(thresholds),
        "name": STAR_NAMES[stars] if stars < len(STAR_NAMES) else str(stars),
        "next": following,
        "next_name": STAR_NAMES[stars + 1] if following is not None else "",
        "to_next": (following - hours) if following is not None else None,
        "progress": int(min(Decimal(100), hours * 100 / following)) if following else 100,
        "thresholds": [
            {"name": STAR_NAMES[i + 1], "hours": t, "reached": hours >= t}
            for i, t in enumerate(thresholds)
        ],
    }


def my_recognition(person: Person) -> dict[str, Any]:
    """One person's own volunteer record: totals, this year's figures and the 星级."""
    records = VolunteerRecord.objects.filter(person=person)
    total = records.aggregate(hours=Sum("hours"), points=Sum("points"), services=Count("id"))
    year = records.filter(service_date__gte=clock.today().replace(month=1, day=1)).aggregate(
        hours=Sum("hours"), services=Count("id")
    )
    hours = total["hours"] or Decimal("0")
    return {
        "hours": hours,
        "points": total["points"] or 0,
        "services": total["services"],
        "year_hours": year["hours"] or Decimal("0"),
        "year_services": year["services"],
        "star": star_level(hours),
    }


def unit_comparison(prefixes: list[str], year: int) -> list[dict[str, Any]]:
    """Volunteer service by community/village (units, not people) under the given region-code
    prefixes in one year: volunteers, services, hours, points and volunteers per 1,000
    registered residents. Ordered by region code — a table of units, not a ranking."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    in_scope, regions = Q(), Q()
    for prefix in {p[:12] for p in prefixes}:  # a grid's staff see their whole community's row
        in_scope |= Q(region_code__startswith=prefix)
        regions |= Q(code__startswith=prefix)
    rows = (
        VolunteerRecord.objects.filter(in_scope, service_date__gte=start, service_date__lte=end)
        .annotate(unit=Substr("region_code", 1, 12))
        .values("unit")
        .annotate(
            volunteers=Count("person_id", distinct=True),
            services=Count("id"),
            hours=Sum("hours"),
            points=Sum("points"),
        )
    )
    figures: dict[str, Mapping[str, Any]] = {row["unit"]: row for row in rows}
    units = Region.objects.filter(regions, level="community").order_by("code")
    residents = dict(
        Person.objects.filter(in_scope, status="active")
        .annotate(unit=Substr("region_code", 1, 12))
        .values("unit")
        .annotate(n=Count("id"))
        .values_list("unit", "n")
    )
    townships = dict(Region.objects.filter(level="township").values_list("code", "name"))
    result = []
    for unit in units.values("code", "name"):
        row = figures.get(unit["code"], {})
        people = residents.get(unit["code"], 0)
        volunteers = row.get("volunteers", 0)
        result.append(
            {
                "code": unit["code"],
                "name": unit["name"],
                "township": townships.get(unit["code"][:9], ""),
                "volunteers": volunteers,
                "services": row.get("services", 0),
                "hours": row.get("hours") or Decimal("0"),
                "points": row.get("points") or 0,
                "residents": people,
                "per_thousand": (
                    (Decimal(volunteers) * 1000 / people).quantize(Decimal("0.1"))
                    if people
                    else None
                ),
            }
        )
    return result


def certificate(person: Person, start: date, end: date) -> dict[str, Any]:
    """志愿服务记录证明: each record in the period (tasks, meetings … — the record's own title)
    with who recorded it (谁记录谁证明)."""
    records = list(
        VolunteerRecord.objects.filter(
            person=person, service_date__gte=start, service_date__lte=end
        ).order_by("service_date", "id")
    )
    return {
        "person": person,
        "start": start,
        "end": end,
        "records": records,
        "hours": sum((r.hours for r in records), Decimal("0")),
        "points": sum(r.points for r in records),
        "issued": clock.today(),
    }


def default_period() -> tuple[date, date]:
    today = clock.today()
    return date(today.year, 1, 1), today


def parse_date(value: object, default: date) -> date:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------------------------------------
# Reports


def pools_for(user: AnyUser) -> QuerySet[Account]:
    return scoped(Account.objects.filter(kind=AccountKind.POOL), user, P.REPORTS).order_by(
        "region_code", "point_kind"
    )


def report_summary(user: AnyUser) -> dict[str, Any]:
    """Scope-wide figures for the staff report page."""
    tasks = scoped(Task.objects.all(), user, P.REPORTS)
    records = scoped(VolunteerRecord.objects.all(), user, P.REPORTS)
    since = timezone.make_aware(datetime.combine(clock.today() - timedelta(days=30), time.min))
    return {
        "tasks_by_status": [
            (TaskStatus(status).label, n)
            for status, n in tasks.values_list("status").annotate(n=Count("id")).order_by("status")
        ],
        "records_30d": records.filter(recorded_at__gte=since).aggregate(
            n=Count("id"), points=Sum("points"), hours=Sum("hours")
        ),
        "honour_30d": records.filter(recorded_at__gte=since, record_type="honour").count(),
        "open_claims": scoped(
            Claim.objects.filter(status__in=(ClaimStatus.CLAIMED, ClaimStatus.CHECKED_IN)),
            user,
            P.REPORTS,
            field="task__region_code",
        ).count(),
    }


def community_accounts(user: AnyUser, *, q: str = "") -> list[Account]:
    """Resident accounts in scope (for adjustments), masked names; at most 50."""
    qs = scoped(
        Account.objects.filter(kind=AccountKind.RESIDENT).select_related("person"),
        user,
        P.ADJUST,
        field="person__region_code",
    )
    if q:
        qs = qs.filter(Q(person__name__startswith=q[:20]))
    return list(qs.order_by("person__name", "id")[:50])  # by name: never a ranking by points
