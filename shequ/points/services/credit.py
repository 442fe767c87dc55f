"""Participation credit: the one service that credits points and/or volunteer hours for taking
part in something, once per (source, person).

Who calls it: the points platform's own task claims (`tasks.claims._credit`, source "points.claim"),
and every app that rewards participation — 月月谈 meetings, activities, 三会一课, care visits —
each with a source type it registers here (`register_credit_source`) in its AppConfig.ready().
The caller decides *whether* the person earned it (attendance verified, permission checked);
this service decides *how much* (the region's caps) and writes it once.

Where it lives: the credit is a `VolunteerRecord` (志愿服务记录) — the one table that the
resident's hours, the 星级, the certificate (志愿服务记录证明) and the unit reports already read —
with `source_type`/`source_id` columns and a unique constraint on (source_type, source_id,
person). A separate model would have split the record of service in two.

Once per (source, person): a repeat call returns the existing record and writes nothing (no
second transfer, no audit row; the first call's amounts stand). The database backs it up: the
record's unique constraint, and the transfer's idempotency key `credit:<type>:<id>:<person>`.
Concurrent calls for one person serialise on the person's account row (locked FOR UPDATE, as
the daily cap is read under it); the second sees the first's record and returns it.

Caveats:
- Caps apply to points, not hours: per source at most `per_task_cap`, per day at most
  `daily_cap` minus what the person was credited today (the rules of the person's region,
  `rules_for`). A capped credit records the points actually paid (possibly 0).
- Funding: `funded_from` (a task's escrow, or a pool) or by default the pool of the community
  where the participation happened (`region_code`, default the person's). A pool short of the
  points raises InsufficientPoints and nothing is written — the caller's transaction, too,
  is rolled back when it lets the error through.
- Hours-only credits (points=0) need no funding and post no transfer.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import cast

from django.db import transaction
from django.db.models import Sum
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core.actors import User
from shequ.core.audit import audit_record
from shequ.core.errors import InvalidInput
from shequ.people.models import Person
from shequ.points import clock, ledger
from shequ.points.choices import AccountKind, PointKind, RecordType, TransferKind
from shequ.points.models import Account, Claim, VolunteerRecord
from shequ.points.services.common import check_text, day_start, rules_for

CLAIM_SOURCE = "points.claim"
_SOURCE_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
# A CharField always has a max_length; the stubs type every Field's as optional.
_SOURCE_TYPE_MAX = cast(int, VolunteerRecord._meta.get_field("source_type").max_length)


# ---------------------------------------------------------------------------------------------
# The registry of source types


@dataclass(frozen=True)
class CreditSource:
    source_type: str
    label: str | Promise  # shown to the resident: "月月谈参会", "完成任务" …


_sources: dict[str, CreditSource] = {}


def register_credit_source(source_type: str, *, label: str | Promise) -> CreditSource:
    """Register a source type ("<app>.<thing>", e.g. "deliberation.meeting") with the Chinese
    label a resident's history shows. Registering the same type again with the same label is a
    no-op (app reloads); another label for a registered type is a programming error."""
    if not _SOURCE_TYPE.match(source_type) or len(source_type) > _SOURCE_TYPE_MAX:
        raise ValueError(f"credit source type must look like 'app.thing': {source_type!r}")
    source = CreditSource(source_type, label)
    existing = _sources.get(source_type)
    if existing is not None and str(existing.label) != str(label):
        raise ValueError(f"credit source type {source_type!r} is already registered")
    _sources[source_type] = source
    return source


def credit_source(source_type: str) -> CreditSource:
    """The registered source, or InvalidInput for an unknown type."""
    source = _sources.get(source_type)
    if source is None:
        raise InvalidInput(
            _("未登记的积分来源类型：%(type)s。") % {"type": source_type},
            code="unknown_credit_source",
            details={"source_type": source_type},
        )
    return source


def credit_source_label(source_type: str) -> str:
    """The Chinese label of a source type (the type itself when it is not registered, so old
    rows of an app that was removed still read)."""
    source = _sources.get(source_type)
    return str(source.label) if source is not None else source_type


register_credit_source(CLAIM_SOURCE, label=gettext_lazy("完成任务"))


# ---------------------------------------------------------------------------------------------
# Checks


def check_hours(value: object, *, field: str = "hours") -> Decimal:
    """0 to 24 hours in half hours — or a clear InvalidInput."""
    try:
        hours = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise InvalidInput(
            _("志愿时长应为数字（小时）。"), code="invalid_hours", details={"field": field}
        ) from None
    if not hours.is_finite() or hours < 0 or hours > 24 or hours * 2 != int(hours * 2):
        raise InvalidInput(
            _("志愿时长应在0到24小时之间，以半小时为单位。"),
            code="invalid_hours",
            details={"field": field},
        )
    return hours


def credit_key(source_type: str, source_id: int, person_id: int) -> str:
    """The ledger idempotency key of one (source, person) credit."""
    return f"credit:{source_type}:{source_id}:{person_id}"


def _check_funding(funded_from: Account, *, point_kind: str, region_code: str) -> None:
    if funded_from.point_kind != point_kind or funded_from.kind not in (
        AccountKind.POOL,
        AccountKind.ESCROW,
    ):
        raise InvalidInput(
            _("积分来源应为积分池或任务托管账户（积分类型一致）。"), code="invalid_funding"
        )
    if funded_from.kind == AccountKind.POOL and not region_code.startswith(funded_from.region_code):
        raise InvalidInput(_("积分池不属于活动所在的社区或镇/街道。"), code="invalid_funding")


def existing_credit(source_type: str, source_id: int, person: Person) -> VolunteerRecord | None:
    return VolunteerRecord.objects.filter(
        source_type=source_type, source_id=source_id, person=person
    ).first()


# ---------------------------------------------------------------------------------------------
# The service


@transaction.atomic
def participation_credit(
    *,
    actor: User,
    source_type: str,
    source_id: int,
    person: Person,
    title: str,
    points: int | str,
    hours: Decimal | int | str,
    point_kind: str = PointKind.VOLUNTEER,
    reason: str = "",
    record_type: str = RecordType.CREDIT,
    funded_from: Account | None = None,
    region_code: str | None = None,
    service_date: date | None = None,
    claim: Claim | None = None,
) -> VolunteerRecord:
    """Credit `person` for taking part in (source_type, source_id): points (capped by the
    region's rules, paid from `funded_from` or the community's pool) and/or hours, as one
    VolunteerRecord, a ledger transfer and an audit row. Once per (source, person): a repeat
    returns the first record and writes nothing.

    `title` is the service item the certificate shows (the task's or meeting's title);
    `reason` is required for 荣誉 records; `region_code` is where the participation happened
    (default: the person's region); `claim` only for the points platform's task claims. The
    audit row is "points.honour_grant" for 荣誉, "points.confirm" for a task claim's 信用 and
    "points.credit" for the other sources (its details name the source).
    Raises InvalidInput (unknown source, bad amounts, nothing to credit, wrong funding) or
    InsufficientPoints (the funding account is short); on any error nothing is written.
    """
    source = credit_source(source_type)
    if isinstance(source_id, bool) or not isinstance(source_id, int) or source_id < 1:
        raise InvalidInput(_("积分来源编号无效。"), code="invalid_source_id")
    if (source_type == CLAIM_SOURCE) != (claim is not None) or (
        claim is not None and claim.pk != source_id
    ):
        raise InvalidInput(_("积分来源与报名不一致。"), code="invalid_source_id")
    if record_type not in RecordType.values:
        raise InvalidInput(_("记录类型无效。"), code="invalid_record_type")
    if point_kind not in PointKind.values:
        raise InvalidInput(_("积分类型无效。"), code="invalid_point_kind")
    title = check_text(title, field="title", label=_("服务项目"), max_length=200)
    reason = check_text(
        reason,
        field="reason",
        label=_("理由"),
        max_length=200,
        required=record_type == RecordType.HONOUR,
    )
    points = ledger.check_amount(points, field="points", allow_zero=True)
    hours = check_hours(hours)
    if not points and not hours:
        raise InvalidInput(_("积分和时长不能都为零。"), code="nothing_to_credit")
    region_code = region_code or person.region_code
    if funded_from is not None:
        _check_funding(funded_from, point_kind=point_kind, region_code=region_code)

    record = existing_credit(source_type, source_id, person)
    if record is not None:
        return record

    account = ledger.resident_account(person, point_kind)
    funding: Account | None = None
    if points:
        funding = funded_from or ledger.pool_account(region_code[:12], point_kind)
    # One person's credits queue here: the daily-cap sum below and the check for a concurrent
    # credit of the same source are read under the lock.
    locked = ledger.lock_accounts([account] + ([funding] if funding is not None else []))
    record = existing_credit(source_type, source_id, person)
    if record is not None:
        return record

    now = clock.now()
    awarded = 0
    if points:
        rules = rules_for(person.region_code)
        today = (
            VolunteerRecord.objects.filter(
                person=person, point_kind=point_kind, recorded_at__gte=day_start(now)
            ).aggregate(total=Sum("points"))["total"]
            or 0
        )
        awarded = max(0, min(points, rules.per_task_cap, rules.daily_cap - today))
    honour = record_type == RecordType.HONOUR
    transfer = None
    if awarded and funding is not None:  # points were asked for, so there is funding
        balance = locked[funding.pk].balance
        if balance < awarded:
            raise ledger.InsufficientPoints(
                _("%(name)s余额不足（余额 %(balance)s，需要 %(need)s），无法发放积分。")
                % {"name": funding.name, "balance": balance, "need": awarded},
                details={"account": funding.pk, "balance": balance},
            )
        transfer = ledger.transfer_post(
            key=credit_key(source_type, source_id, person.pk),
            kind=TransferKind.HONOUR if honour else TransferKind.REWARD,
            reason=(
                _("荣誉积分：%(title)s（%(reason)s）") % {"title": title, "reason": reason}
                if honour
                else _("%(label)s：%(title)s") % {"label": source.label, "title": title}
            ),
            legs=[(funding, -awarded), (account, awarded)],
            actor=actor,
            region_code=person.region_code,
        )
    record = VolunteerRecord.objects.create(
        person=person,
        source_type=source_type,
        source_id=source_id,
        title=title,
        claim=claim,
        task_id=claim.task_id if claim is not None else None,
        region_code=person.region_code,
        service_date=service_date or clock.today(),
        hours=hours,
        points=awarded,
        point_kind=point_kind,
        record_type=record_type,
        reason=reason,
        recorded_by=actor,
        recorder_name=getattr(actor, "full_name", "") or actor.get_username(),
        recorded_at=now,
        transfer=transfer,
    )
    audit_record(
        actor=actor,
        action=(
            "points.honour_grant"
            if honour
            else ("points.confirm" if source_type == CLAIM_SOURCE else "points.credit")
        ),
        obj=record,
        region_code=region_code,
        reason=reason,
        details={
            "source_type": source_type,
            "source_id": source_id,
            "points": awarded,
            "hours": str(hours),
            "capped": awarded < points,
        },
    )
    return record
