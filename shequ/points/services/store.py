"""The 爱心超市: items, stock-in (incl. donations), redemption, pickup and cancellation.

Redemption is one transaction: lock the resident's account row (so the monthly-limit count
sees every earlier order of this person), create the order with a pickup code, take the stock
with a conditional UPDATE and post the transfer person → store. Any failure (out of stock, over
the limit, balance short) rolls all of it back. Redemptions and cancellations take their locks
in the same order — the resident's account, the item, then the store's account — so they
cannot deadlock, and the rows every resident of the store shares (item, store account) are held
only for the last few statements before commit.
"""

from decimal import Decimal
from io import BytesIO

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from shequ.core.actors import AnyUser, User
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.scoping import has_perm, require_perm
from shequ.people.models import Person
from shequ.points import clock, ledger
from shequ.points import permissions as P
from shequ.points.choices import OrderStatus, PointKind, StockSource, TransferKind
from shequ.points.models import Order, StockIn, Store, StoreItem
from shequ.points.services.common import check_text, digits, month_start, require_person

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_QUANTITY = 20


def _photo(upload: UploadedFile) -> ContentFile:
    """Check an uploaded photo is an image and re-encode it (drops EXIF, bounds the size)."""

    if (upload.size or 0) > MAX_PHOTO_BYTES:
        raise InvalidInput(
            _("图片不能超过5MB。"), code="photo_too_large", details={"field": "photo"}
        )
    try:
        Image.open(upload).verify()
        upload.seek(0)
        image = Image.open(upload).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidInput(
            _("图片格式无法识别（支持 JPEG、PNG）。"),
            code="invalid_photo",
            details={"field": "photo"},
        ) from None
    image.thumbnail((800, 800))
    out = BytesIO()
    image.save(out, format="JPEG", quality=85)
    return ContentFile(out.getvalue(), name="item.jpg")


@transaction.atomic
def store_item_create(
    *,
    actor: User,
    store: Store,
    name: str,
    price: int | str,
    monthly_limit: int | str = 2,
    category: str = "",
    description: str = "",
    value_yuan: Decimal | None = None,
    initial_stock: int | str = 0,
    donor: str = "",
    photo: UploadedFile | None = None,
) -> StoreItem:
    require_perm(actor, P.MANAGE_STORE, store.region_code)
    name = check_text(name, field="name", label=_("名称"), max_length=100)
    if StoreItem.objects.filter(store=store, name=name).exists():
        raise ConflictError(_("已有同名物品。"), code="duplicate_item", details={"field": "name"})
    item = StoreItem.objects.create(
        store=store,
        name=name,
        price=ledger.check_amount(price, field="price"),
        monthly_limit=_limit(monthly_limit),
        category=check_text(
            category, field="category", label=_("类别"), max_length=20, required=False
        ),
        description=check_text(
            description, field="description", label=_("说明"), max_length=300, required=False
        ),
        value_yuan=value_yuan,
        photo=_photo(photo) if photo else "",
        created_at=clock.now(),
    )
    audit_record(actor=actor, action="points.item_create", obj=item, region_code=store.region_code)
    initial_stock = ledger.check_amount(initial_stock, field="initial_stock", allow_zero=True)
    if initial_stock:
        stock_in(
            actor=actor,
            item=item,
            quantity=initial_stock,
            source=StockSource.DONATION if donor else StockSource.PURCHASE,
            donor=donor,
            unit_value=value_yuan,
            note=_("首次入库"),
        )
    item.refresh_from_db()
    return item


def _limit(value: int | str) -> int:
    limit = ledger.check_amount(value, field="monthly_limit")
    if limit > MAX_QUANTITY:
        raise InvalidInput(
            _("每人每月限兑不能超过%(n)s件。") % {"n": MAX_QUANTITY}, code="invalid_limit"
        )
    return limit


@transaction.atomic
def store_item_update(
    *,
    actor: User,
    item: StoreItem,
    price: int | str | None = None,
    monthly_limit: int | str | None = None,
    is_active: bool | None = None,
    photo: UploadedFile | None = None,
) -> StoreItem:
    require_perm(actor, P.MANAGE_STORE, item.store.region_code)
    changes: dict[str, int | bool] = {}
    if price is not None:
        changes["price"] = ledger.check_amount(price, field="price")
    if monthly_limit is not None:
        changes["monthly_limit"] = _limit(monthly_limit)
    if is_active is not None:
        changes["is_active"] = bool(is_active)
    if changes:
        StoreItem.objects.filter(pk=item.pk).update(**changes)
    if photo:
        item.photo.save("item.jpg", _photo(photo), save=False)
        StoreItem.objects.filter(pk=item.pk).update(photo=item.photo.name)
    audit_record(
        actor=actor,
        action="points.item_update",
        obj=item,
        region_code=item.store.region_code,
        details=dict(changes.items()) | ({"photo": True} if photo else {}),
    )
    item.refresh_from_db()
    return item


@transaction.atomic
def stock_in(
    *,
    actor: User,
    item: StoreItem,
    quantity: int | str,
    source: str,
    donor: str = "",
    unit_value: Decimal | None = None,
    note: str = "",
) -> StockIn:
    """入库: a purchase, or goods donated by a co-building unit (the donor is required)."""
    require_perm(actor, P.MANAGE_STORE, item.store.region_code)
    quantity = ledger.check_amount(quantity, field="quantity")
    if quantity > 100_000:
        raise InvalidInput(_("入库数量过大。"), code="invalid_quantity")
    if source not in StockSource.values:
        raise InvalidInput(_("请选择入库来源。"), code="invalid_source")
    donor = check_text(
        donor,
        field="donor",
        label=_("捐赠单位"),
        max_length=100,
        required=source == StockSource.DONATION,
    )
    record = StockIn.objects.create(
        item=item,
        quantity=quantity,
        source=source,
        donor=donor,
        unit_value=unit_value,
        note=check_text(note, field="note", label=_("备注"), max_length=200, required=False),
        region_code=item.store.region_code,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        created_at=clock.now(),
    )
    StoreItem.objects.filter(pk=item.pk).update(stock=F("stock") + quantity)
    return record


class _Duplicate(Exception):
    pass


def order_redeem(
    *,
    actor: User,
    item: StoreItem,
    quantity: int | str = 1,
    point_kind: str = PointKind.VOLUNTEER,
    request_key: str = "",
) -> Order:
    """Redeem an item for points. A repeated `request_key` returns the first order."""
    person = require_person(actor)
    quantity = ledger.check_amount(quantity, field="quantity")
    if quantity > MAX_QUANTITY:
        raise InvalidInput(
            _("一次最多兑换%(n)s件。") % {"n": MAX_QUANTITY}, code="invalid_quantity"
        )
    if point_kind not in PointKind.values:
        raise InvalidInput(_("积分类型无效。"), code="invalid_point_kind")
    request_key = (request_key or "").strip()[:200]
    if request_key:
        existing = Order.objects.filter(person=person, request_key=request_key).first()
        if existing is not None:
            return existing
    store = item.store
    if not person.region_code.startswith(store.region_code):
        raise PermissionDeniedError(_("只能在本社区的爱心超市兑换。"), code="other_community_store")
    if not item.is_active or not store.is_active:
        raise ConflictError(_("该物品已下架。"), code="item_unavailable")
    try:
        return _redeem(person, item, store, quantity, point_kind, request_key, actor)
    except _Duplicate:
        return Order.objects.get(person=person, request_key=request_key)


@transaction.atomic
def _redeem(
    person: Person,
    item: StoreItem,
    store: Store,
    quantity: int,
    point_kind: str,
    request_key: str,
    actor: User,
) -> Order:
    payer = ledger.resident_account(person, point_kind)
    payee = ledger.store_account(store, point_kind)
    # The resident's own account row first: one redemption (or cancellation) per person at a
    # time, so the monthly-limit count below sees every earlier order of this person. Rows
    # shared with other residents (the item, the store's account) are locked last, just before
    # commit, so concurrent redemptions in one store wait on each other as little as possible.
    ledger.lock_accounts([payer])
    now = clock.now()
    used = (
        Order.objects.filter(person=person, item=item, created_at__gte=month_start(now))
        .exclude(status=OrderStatus.CANCELLED)
        .aggregate(total=Sum("quantity"))["total"]
        or 0
    )
    if used + quantity > item.monthly_limit:
        raise ConflictError(
            _("“%(item)s”每人每月限兑 %(limit)s 件，本月您已兑换 %(used)s 件。")
            % {"item": item.name, "limit": item.monthly_limit, "used": used},
            code="monthly_limit_reached",
            details={"limit": item.monthly_limit, "used": used},
        )
    points = item.price * quantity
    order = None
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    store=store,
                    item=item,
                    person=person,
                    quantity=quantity,
                    point_kind=point_kind,
                    points=points,
                    pickup_code=digits(6),
                    request_key=request_key,
                    region_code=store.region_code,
                    created_at=now,
                )
            break
        except IntegrityError:
            if (
                request_key
                and Order.objects.filter(person=person, request_key=request_key).exists()
            ):
                raise _Duplicate from None
    if order is None:
        raise ConflictError(_("取货码生成失败，请重试。"), code="pickup_code_busy")
    # The stock: a conditional UPDATE (the item row stays locked until commit).
    taken = StoreItem.objects.filter(pk=item.pk, is_active=True, stock__gte=quantity).update(
        stock=F("stock") - quantity
    )
    if taken != 1:
        raise ConflictError(_("“%(item)s”库存不足。") % {"item": item.name}, code="out_of_stock")
    ledger.transfer_post(
        key=f"order:{order.pk}:pay",
        kind=TransferKind.REDEMPTION,
        reason=_("兑换 %(item)s ×%(n)s") % {"item": item.name, "n": quantity},
        legs=[(payer, -points), (payee, points)],
        actor=actor,
        region_code=person.region_code,
    )
    return order


@transaction.atomic
def order_pickup(*, actor: User, store: Store, code: str) -> Order:
    """Staff hand the goods over against the pickup code the resident shows."""
    require_perm(actor, P.MANAGE_STORE, store.region_code)
    code = (code or "").strip()
    order = Order.objects.filter(store=store, pickup_code=code, status=OrderStatus.PENDING).first()
    if order is None:
        if Order.objects.filter(
            store=store, pickup_code=code, status=OrderStatus.PICKED_UP
        ).exists():
            raise ConflictError(_("该取货码的物品已领取。"), code="already_picked_up")
        raise InvalidInput(_("取货码无效。"), code="invalid_pickup_code", details={"field": "code"})
    return _pickup(actor, order)


@transaction.atomic
def order_confirm_pickup(*, actor: User, order: Order) -> Order:
    require_perm(actor, P.MANAGE_STORE, order.region_code)
    return _pickup(actor, order)


def _pickup(actor: User, order: Order) -> Order:
    changed = Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
        status=OrderStatus.PICKED_UP, picked_up_at=clock.now(), picked_up_by=actor
    )
    if changed != 1:
        order.refresh_from_db()
        if order.status == OrderStatus.PICKED_UP:
            raise ConflictError(_("该订单已领取。"), code="already_picked_up")
        raise ConflictError(_("该订单已取消。"), code="order_cancelled")
    order.refresh_from_db()
    return order


@transaction.atomic
def order_cancel(*, actor: User, order: Order, reason: str = "") -> Order:
    """Cancel a pending order: the points and the stock go back."""
    is_owner = order.person.user_id is not None and order.person.user_id == actor.pk
    if not is_owner:
        require_perm(actor, P.MANAGE_STORE, order.region_code)
        reason = check_text(reason, field="reason", label=_("取消原因"), max_length=200)
    else:
        reason = (reason or "").strip()[:200] or _("居民自行取消")
    # Locks in the order redemptions take them: the resident's account, the item, the store's
    # account (in transfer_post) — so the two never deadlock.
    resident = ledger.resident_account(order.person, order.point_kind)
    ledger.lock_accounts([resident])
    changed = Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
        status=OrderStatus.CANCELLED,
        cancelled_at=clock.now(),
        cancelled_by=actor,
        cancel_reason=reason,
    )
    if changed != 1:
        raise ConflictError(_("只有待领取的订单可以取消。"), code="order_not_pending")
    StoreItem.objects.filter(pk=order.item_id).update(stock=F("stock") + order.quantity)
    ledger.transfer_post(
        key=f"order:{order.pk}:refund",
        kind=TransferKind.REDEMPTION_REFUND,
        reason=_("取消兑换 %(item)s，积分退回（%(reason)s）")
        % {"item": order.item.name, "reason": reason},
        legs=[
            (ledger.store_account(order.store, order.point_kind), -order.points),
            (resident, order.points),
        ],
        actor=actor,
        region_code=order.person.region_code,
    )
    if not is_owner:
        audit_record(
            actor=actor,
            action="points.order_cancel",
            obj=order,
            region_code=order.region_code,
            reason=reason,
        )
    order.refresh_from_db()
    return order


def can_manage_store(user: AnyUser | None, store: Store) -> bool:
    return has_perm(user, P.MANAGE_STORE, store.region_code)
