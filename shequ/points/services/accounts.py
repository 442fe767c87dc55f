"""Pools and their funding, staff adjustments, and the optional yearly expiry."""

import uuid
from datetime import date, datetime, time
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.actors import Actor, User
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.regions import Level, level_of
from shequ.core.scoping import require_perm
from shequ.people.models import Person
from shequ.points import clock, ledger
from shequ.points import permissions as P
from shequ.points.choices import AccountKind, FunderKind, PointKind, TransferKind
from shequ.points.models import Account, Entry, FundingRecord, Transfer
from shequ.points.services.common import check_text, rules_for


def _key(prefix: str, actor: Actor, request_key: str | None) -> str:
    """A transfer key: the caller's request key (a retried form) or a fresh one."""
    if request_key:
        return f"{prefix}:{getattr(actor, 'pk', 0)}:{request_key}"[:200]
    return f"{prefix}:{uuid.uuid4().hex}"


@transaction.atomic
def pool_fund(
    *,
    actor: User,
    pool: Account,
    funder_kind: str,
    funder_name: str,
    amount: int | str,
    yuan: Decimal | None = None,
    note: str = "",
    request_key: str | None = None,
) -> FundingRecord:
    """Record funding of a pool by the city, a township or a co-building unit (资金来源)."""
    if pool.kind != AccountKind.POOL:
        raise InvalidInput(_("只能向积分池注资。"), code="not_a_pool")
    require_perm(actor, P.FUND, pool.region_code)
    if funder_kind not in FunderKind.values:
        raise InvalidInput(_("请选择资金来源类型。"), code="invalid_funder_kind")
    funder_name = check_text(funder_name, field="funder_name", label=_("出资单位"), max_length=100)
    amount = ledger.check_amount(amount)
    transfer = ledger.transfer_post(
        key=_key("fund", actor, request_key),
        kind=TransferKind.FUNDING,
        reason=_("%(funder)s注资") % {"funder": funder_name},
        legs=[(ledger.issuer_account(pool.point_kind), -amount), (pool, amount)],
        actor=actor,
        region_code=pool.region_code,
    )
    record = FundingRecord.objects.create(
        pool=pool,
        funder_kind=funder_kind,
        funder_name=funder_name,
        amount=amount,
        yuan=yuan,
        note=check_text(note, field="note", label=_("备注"), max_length=200, required=False),
        transfer=transfer,
        region_code=pool.region_code,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        created_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="points.pool_fund",
        obj=pool,
        details={"amount": amount, "funder": funder_name},
    )
    return record


@transaction.atomic
def pool_allocate(
    *, actor: User, source: Account, target: Account, amount: int | str, reason: str
) -> None:
    """A township pool hands points down to one of its communities' pools (区–街–社)."""
    if source.kind != AccountKind.POOL or target.kind != AccountKind.POOL:
        raise InvalidInput(_("只能在积分池之间划拨。"), code="not_a_pool")
    if not target.region_code.startswith(source.region_code) or source.pk == target.pk:
        raise InvalidInput(_("只能向下级积分池划拨。"), code="invalid_allocation")
    require_perm(actor, P.FUND, source.region_code)
    ledger.transfer_post(
        key=_key("allocate", actor, None),
        kind=TransferKind.ALLOCATION,
        reason=reason,
        legs=[(source, -ledger.check_amount(amount)), (target, ledger.check_amount(amount))],
        actor=actor,
        region_code=target.region_code,
    )


@transaction.atomic
def account_adjust(
    *,
    actor: User,
    person: Person,
    amount: int | str,
    reason: str,
    point_kind: str = PointKind.VOLUNTEER,
    request_key: str | None = None,
) -> Transfer:
    """A staff adjustment of a resident's balance against the community pool: signed amount,
    a reason, capped by the rules, audited."""
    require_perm(actor, P.ADJUST, person.region_code)
    reason = ledger.check_reason(reason)
    if isinstance(amount, str):
        text = amount.strip()
        if not text.lstrip("+-").isdigit():
            raise InvalidInput(_("积分必须是整数。"), code="invalid_amount")
        amount = int(text)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidInput(_("调整积分必须是非零整数。"), code="invalid_amount")
    cap = rules_for(person.region_code).adjustment_cap
    if abs(amount) > cap:
        raise InvalidInput(
            _("单次调整不能超过 %(cap)s 分。") % {"cap": cap},
            code="over_adjustment_cap",
            details={"cap": cap},
        )
    if point_kind not in PointKind.values:
        raise InvalidInput(_("积分类型无效。"), code="invalid_point_kind")
    account = ledger.resident_account(person, point_kind)
    pool = ledger.pool_account(person.region_code[:12], point_kind)
    transfer = ledger.transfer_post(
        key=_key("adjust", actor, request_key),
        kind=TransferKind.ADJUSTMENT,
        reason=_("人工调整：%(reason)s") % {"reason": reason},
        legs=[(pool, -amount), (account, amount)],
        actor=actor,
        region_code=person.region_code,
    )
    audit_record(
        actor=actor,
        action="points.adjust",
        obj=account,
        region_code=person.region_code,
        reason=reason,
        details={"amount": amount, "transfer": transfer.pk},
    )
    return transfer


def expiry_cutoff(year: int) -> datetime:
    """Points credited before this moment and still unspent expire on 1 January of `year`."""
    return timezone.make_aware(datetime.combine(date(year - 1, 1, 1), time.min))


def points_expire(*, year: int, actor: Actor = None) -> dict[str, int]:
    """Yearly expiry (where the rules enable it): unspent points earned before the previous
    year go back to the community pool. Spending uses the oldest points first, so what expires
    is the balance minus everything credited since the cutoff. Idempotent per (year, account).
    """
    if clock.today() < date(year, 1, 1):
        raise ConflictError(_("尚未到 %(y)s 年的过期日。") % {"y": year}, code="too_early")
    cutoff = expiry_cutoff(year)
    expired_accounts = 0
    expired_points = 0
    candidates = Account.objects.filter(kind=AccountKind.RESIDENT, balance__gt=0).values_list(
        "pk", "region_code"
    )
    enabled: dict[str, bool] = {}
    for pk, region_code in candidates.iterator(2000):
        community = region_code[:12]
        if community not in enabled:
            enabled[community] = rules_for(region_code).expiry_enabled
        if not enabled[community]:
            continue
        key = f"expiry:{year}:{pk}"
        if ledger.transfer_exists(key):
            continue
        with transaction.atomic():
            account = ledger.lock_accounts([Account(pk=pk)])[pk]
            recent = (
                Entry.objects.filter(
                    account=account, amount__gt=0, created_at__gte=cutoff
                ).aggregate(total=Sum("amount"))["total"]
                or 0
            )
            amount = account.balance - recent
            if amount <= 0:
                continue
            pool = ledger.pool_account(community, account.point_kind)
            ledger.transfer_post(
                key=key,
                kind=TransferKind.EXPIRY,
                reason=_("%(y)s年度积分过期（%(cutoff)s 前获得且未使用）")
                % {"y": year, "cutoff": cutoff.date().isoformat()},
                legs=[(account, -amount), (pool, amount)],
                actor=actor,
                region_code=account.region_code,
            )
            expired_accounts += 1
            expired_points += amount
    return {"accounts": expired_accounts, "points": expired_points}


def community_code(code: str) -> str:
    if level_of(code) in (Level.COMMUNITY, Level.GRID):
        return code[:12]
    raise InvalidInput(_("区域代码无效。"), code="invalid_region")
