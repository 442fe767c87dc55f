"""Points API (the same services as the pages): tasks, claims, my points, the store.

POST /api/v1/points/store/items/{id}/redeem honours `Idempotency-Key` twice over: the middleware
replays the first response, and the key is also stored on the order (unique per person), so even
a retry that reaches the service cannot buy twice.
"""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.http import Http404
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from shequ.core.errors import PermissionDeniedError
from shequ.core.scoping import has_perm
from shequ.points import permissions as P
from shequ.points import selectors
from shequ.points.models import Claim, Order, Task
from shequ.points.services import (
    claim_check,
    order_redeem,
    person_of,
    require_person,
    task_claim,
)

API_PREFIX = "/points/"
router = Router(tags=["points"])


class TaskOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    category: str
    category_label: str
    status: str
    status_label: str
    region_code: str
    address: str
    starts_at: datetime
    ends_at: datetime
    quota: int
    claims_count: int
    point_kind: str
    points_per_person: int
    hours_per_person: Decimal


def _task(task: Task) -> dict:
    return {
        "id": task.pk,
        "kind": task.kind,
        "kind_label": str(task.get_kind_display()),
        "title": task.title,
        "category": task.category,
        "category_label": str(task.get_category_display()),
        "status": task.status,
        "status_label": str(task.get_status_display()),
        "region_code": task.region_code,
        "address": task.address,
        "starts_at": task.starts_at,
        "ends_at": task.ends_at,
        "quota": task.quota,
        "claims_count": task.claims_count,
        "point_kind": task.point_kind,
        "points_per_person": task.points_per_person,
        "hours_per_person": task.hours_per_person,
    }


class ClaimOut(Schema):
    id: int
    task_id: int
    status: str
    status_label: str
    claimed_at: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    points_awarded: int


def _claim(claim: Claim) -> dict:
    return {
        "id": claim.pk,
        "task_id": claim.task_id,
        "status": claim.status,
        "status_label": str(claim.get_status_display()),
        "claimed_at": claim.claimed_at,
        "checked_in_at": claim.checked_in_at,
        "checked_out_at": claim.checked_out_at,
        "points_awarded": claim.points_awarded,
    }


@router.get("/tasks", response=list[TaskOut], summary="任务列表")
def list_tasks(
    request,
    tab: Literal["near", "new"] = "near",
    status: str = "",
    limit: int = 50,
):
    """Residents: open tasks of their community (`tab=near`: own grid first; `new`: newest).
    Staff: the tasks in their scope (`status` filters)."""
    user = request.user
    limit = max(1, min(limit, 200))
    person = person_of(user)
    if person is not None and has_perm(user, P.PARTICIPATE):
        return [_task(t) for t in selectors.task_square(person, tab=tab, limit=limit)]
    if has_perm(user, P.VIEW):
        return [_task(t) for t in selectors.staff_tasks(user, status=status)[:limit]]
    raise PermissionDeniedError("您没有查看任务的权限。")


def _visible_task(request, task_id: int) -> Task:
    task = selectors.visible_task(request.user, task_id)
    if task is None:
        raise Http404
    return task


@router.get("/tasks/{task_id}", response=TaskOut, summary="任务详情")
def get_task(request, task_id: int):
    return _task(_visible_task(request, task_id))


@router.post("/tasks/{task_id}/claim", response={201: ClaimOut}, summary="认领任务")
def claim(request, task_id: int):
    """409 `task_full` / `task_closed` / `already_claimed` / `own_task`."""
    task = _visible_task(request, task_id)
    return Status(201, _claim(task_claim(actor=request.user, task=task)))


class CheckIn(Schema):
    code: str = Field(min_length=1, max_length=12, description="发布人出示的签到码或签退码")


@router.post("/tasks/{task_id}/check", response=ClaimOut, summary="现场签到/签退")
def check(request, task_id: int, payload: CheckIn):
    task = _visible_task(request, task_id)
    return _claim(claim_check(actor=request.user, task=task, code=payload.code))


class EntryOut(Schema):
    id: int
    at: datetime
    point_kind: str
    amount: int
    balance_after: int
    kind: str
    kind_label: str
    reason: str


class PointsMeOut(Schema):
    name: str
    volunteer: int
    party: int
    hours: Decimal
    entries: list[EntryOut]
    next_before: int | None


@router.get("/me", response=PointsMeOut, summary="我的积分（余额与明细）")
def me(request, before: int | None = None, limit: int = 50):
    """Balances, volunteer hours and entries newest first (`before` = `next_before` pages on;
    `limit` up to 500)."""
    limit = max(1, min(limit, 500))
    person = require_person(request.user)
    totals = selectors.balances(person)
    entries = selectors.history(person, before=before, limit=limit)
    return {
        "name": person.masked_name,
        "volunteer": totals.volunteer,
        "party": totals.party,
        "hours": totals.hours,
        "entries": [
            {
                "id": e.pk,
                "at": e.created_at,
                "point_kind": e.account.point_kind,
                "amount": e.amount,
                "balance_after": e.balance_after,
                "kind": e.transfer.kind,
                "kind_label": str(e.transfer.get_kind_display()),
                "reason": e.transfer.reason,
            }
            for e in entries
        ],
        "next_before": entries[-1].pk if len(entries) == limit else None,
    }


class ItemOut(Schema):
    id: int
    name: str
    category: str
    description: str
    price: int
    stock: int
    monthly_limit: int
    used_this_month: int
    photo_url: str | None


@router.get("/store/items", response=list[ItemOut], summary="爱心超市物品")
def store_items(request):
    person = require_person(request.user)
    store = selectors.store_for(person)
    if store is None:
        return []
    used = selectors.month_used(person, store)
    return [
        {
            "id": item.pk,
            "name": item.name,
            "category": item.category,
            "description": item.description,
            "price": item.price,
            "stock": item.stock,
            "monthly_limit": item.monthly_limit,
            "used_this_month": used.get(item.pk, 0),
            "photo_url": f"/points/store/items/{item.pk}/photo/" if item.photo else None,
        }
        for item in selectors.store_items(store)
    ]


class RedeemIn(Schema):
    quantity: int = Field(1, ge=1, le=20)
    point_kind: Literal["volunteer", "party"] = "volunteer"  # PointKind.VOLUNTEER


class OrderOut(Schema):
    id: int
    item_id: int
    item_name: str
    quantity: int
    points: int
    point_kind: str
    status: str
    status_label: str
    pickup_code: str
    created_at: datetime


def _order(order: Order) -> dict:
    return {
        "id": order.pk,
        "item_id": order.item_id,
        "item_name": order.item.name,
        "quantity": order.quantity,
        "points": order.points,
        "point_kind": order.point_kind,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "pickup_code": order.pickup_code,
        "created_at": order.created_at,
    }


@router.post("/store/items/{item_id}/redeem", response={201: OrderOut}, summary="兑换物品")
def redeem(request, item_id: int, payload: RedeemIn):
    """201 with the order (and its pickup code). 409 `out_of_stock` / `monthly_limit_reached`,
    402 `insufficient_points` when the balance is short. Send an `Idempotency-Key` header so a
    retried request returns the same order instead of buying twice."""
    item = selectors.visible_store_item(request.user, item_id)
    if item is None:
        raise Http404
    order = order_redeem(
        actor=request.user,
        item=item,
        quantity=payload.quantity,
        point_kind=payload.point_kind,
        request_key=request.headers.get("Idempotency-Key", ""),
    )
    return Status(201, _order(order))


@router.get("/orders", response=list[OrderOut], summary="我的兑换订单")
def orders(request):
    person = require_person(request.user)
    return [_order(o) for o in selectors.my_orders(person)]
