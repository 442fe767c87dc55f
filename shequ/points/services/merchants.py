"""Partner merchants (商务服务): a resident's single-use pay code, redemption at the till,
and the monthly settlement that takes the month's points out of circulation."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.actors import User
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.scoping import require_perm
from shequ.points import clock, ledger
from shequ.points import permissions as P
from shequ.points.choices import PayCodeStatus, PointKind, TransferKind
from shequ.points.models import Merchant, MerchantPayment, MerchantSettlement, PayCode
from shequ.points.services.common import check_text, digits, require_person

PAY_CODE_TTL = timedelta(minutes=5)
MAX_PAYMENT = 2000


@transaction.atomic
def paycode_issue(*, actor: User, point_kind: str = PointKind.VOLUNTEER) -> PayCode:
    """A fresh 8-digit code valid for five minutes; earlier active codes are revoked."""
    person = require_person(actor)
    if point_kind not in PointKind.values:
        raise InvalidInput(_("积分类型无效。"), code="invalid_point_kind")
    now = clock.now()
    PayCode.objects.filter(person=person, status=PayCodeStatus.ACTIVE).update(
        status=PayCodeStatus.REVOKED
    )
    PayCode.objects.filter(status=PayCodeStatus.ACTIVE, expires_at__lt=now).update(
        status=PayCodeStatus.EXPIRED
    )
    for _attempt in range(10):
        try:
            with transaction.atomic():
                return PayCode.objects.create(
                    person=person,
                    point_kind=point_kind,
                    code=digits(8),
                    created_at=now,
                    expires_at=now + PAY_CODE_TTL,
                )
        except IntegrityError:
            continue
    raise ConflictError(_("付款码生成失败，请重试。"), code="paycode_busy")


def _require_operator(actor: User, merchant: Merchant) -> None:
    if actor.is_superuser:
        return
    if not merchant.operators.filter(pk=actor.pk).exists():
        raise PermissionDeniedError(_("您不是该商户的收银员。"), code="not_merchant_operator")


@transaction.atomic
def merchant_redeem(
    *, actor: User, merchant: Merchant, code: str, points: int | str, description: str = ""
) -> MerchantPayment:
    """The merchant's cashier redeems a resident's pay code: points move to the merchant."""
    _require_operator(actor, merchant)
    if not merchant.is_active:
        raise ConflictError(_("该商户已停止合作。"), code="merchant_inactive")
    points = ledger.check_amount(points, field="points")
    if points > MAX_PAYMENT:
        raise InvalidInput(
            _("单笔最多使用 %(n)s 积分。") % {"n": MAX_PAYMENT}, code="over_payment_cap"
        )
    description = check_text(
        description, field="description", label=_("消费说明"), max_length=200, required=False
    )
    code = (code or "").strip()
    now = clock.now()
    pay_code = PayCode.objects.filter(code=code, status=PayCodeStatus.ACTIVE).first()
    if pay_code is None:
        raise InvalidInput(
            _("付款码无效或已使用。"), code="invalid_paycode", details={"field": "code"}
        )
    if pay_code.expires_at < now:
        PayCode.objects.filter(pk=pay_code.pk, status=PayCodeStatus.ACTIVE).update(
            status=PayCodeStatus.EXPIRED
        )
        raise ConflictError(_("付款码已过期，请居民刷新后重试。"), code="paycode_expired")
    if (
        PayCode.objects.filter(pk=pay_code.pk, status=PayCodeStatus.ACTIVE).update(
            status=PayCodeStatus.USED
        )
        != 1
    ):
        raise ConflictError(_("付款码已被使用。"), code="paycode_used")
    person = pay_code.person
    transfer = ledger.transfer_post(
        key=f"paycode:{pay_code.pk}",
        kind=TransferKind.MERCHANT_PAYMENT,
        reason=_("%(merchant)s 积分抵扣%(desc)s")
        % {"merchant": merchant.name, "desc": f"：{description}" if description else ""},
        legs=[
            (ledger.resident_account(person, pay_code.point_kind), -points),
            (ledger.merchant_account(merchant, pay_code.point_kind), points),
        ],
        actor=actor,
        region_code=person.region_code,
    )
    return MerchantPayment.objects.create(
        merchant=merchant,
        person=person,
        pay_code=pay_code,
        points=points,
        point_kind=pay_code.point_kind,
        yuan=(Decimal(points) * Decimal(str(merchant.yuan_per_point))).quantize(Decimal("0.01")),
        description=description,
        transfer=transfer,
        region_code=merchant.region_code,
        recorded_by=actor,
        created_at=now,
    )


def month_bounds(month: date) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(first, time.min), tz),
        timezone.make_aware(datetime.combine(following, time.min), tz),
    )


def month_totals(
    merchant: Merchant, month: date, point_kind: str = PointKind.VOLUNTEER
) -> dict[str, Any]:
    start, end = month_bounds(month)
    totals = MerchantPayment.objects.filter(
        merchant=merchant, point_kind=point_kind, created_at__gte=start, created_at__lt=end
    ).aggregate(count=Count("id"), points=Sum("points"), yuan=Sum("yuan"))
    return {
        "count": totals["count"] or 0,
        "points": totals["points"] or 0,
        "yuan": Decimal(totals["yuan"] or 0).quantize(Decimal("0.01")),
    }


@transaction.atomic
def merchant_settle(
    *, actor: User, merchant: Merchant, month: date, point_kind: str = PointKind.VOLUNTEER
) -> MerchantSettlement:
    """Settle a past month: record it once and retire its points to the issuer account."""
    require_perm(actor, P.MANAGE_MERCHANTS, merchant.region_code)
    month = month.replace(day=1)
    if month >= clock.today().replace(day=1):
        raise ConflictError(_("只能结算已结束的月份。"), code="month_not_over")
    if MerchantSettlement.objects.filter(
        merchant=merchant, month=month, point_kind=point_kind
    ).exists():
        raise ConflictError(_("该月已结算。"), code="already_settled")
    totals = month_totals(merchant, month, point_kind)
    transfer = None
    if totals["points"]:
        transfer = ledger.transfer_post(
            key=f"settle:{merchant.pk}:{month:%Y-%m}:{point_kind}",
            kind=TransferKind.MERCHANT_SETTLEMENT,
            reason=_("%(merchant)s %(month)s 月结")
            % {"merchant": merchant.name, "month": f"{month:%Y-%m}"},
            legs=[
                (ledger.merchant_account(merchant, point_kind), -totals["points"]),
                (ledger.issuer_account(point_kind), totals["points"]),
            ],
            actor=actor,
            region_code=merchant.region_code,
        )
    try:
        with transaction.atomic():
            settlement = MerchantSettlement.objects.create(
                merchant=merchant,
                month=month,
                point_kind=point_kind,
                payments_count=totals["count"],
                points=totals["points"],
                yuan=totals["yuan"],
                transfer=transfer,
                region_code=merchant.region_code,
                settled_by=actor,
                created_at=clock.now(),
            )
    except IntegrityError:
        raise ConflictError(_("该月已结算。"), code="already_settled") from None
    audit_record(
        actor=actor,
        action="points.merchant_settle",
        obj=merchant,
        details={
            "month": f"{month:%Y-%m}",
            "points": totals["points"],
            "yuan": str(totals["yuan"]),
        },
    )
    return settlement
