"""State changes of the cockpit: storing early warnings, acknowledging one. (Exports are
written and audited by `shequ.analytics.export` through `shequ.core.exports`.)"""

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.accounts.models import User
from shequ.analytics import warnings
from shequ.analytics.filters import PERM
from shequ.analytics.models import EarlyWarning, WarningKind
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.scoping import get_scoped_or_404


def _key(f: warnings.Finding) -> str:
    if f.kind == WarningKind.SPIKE:
        return f"spike:{f.region_code}:{f.category_id}:{f.period_start.isoformat()}"
    return f"repeat:{f.region_code}:{f.case_ids[0]}"


def _same_place(existing: list[EarlyWarning], f: warnings.Finding) -> EarlyWarning | None:
    for w in existing:
        if w.lat is None or w.lng is None or f.lat is None or f.lng is None:
            continue  # (repeat warnings and findings always have a place)
        if warnings.distance_m(w.lat, w.lng, f.lat, f.lng) <= warnings.REPEAT_RADIUS_M:
            return w
    return None


@transaction.atomic
def warnings_refresh(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Run the warning rules and store what they find (idempotent: a warning already stored for
    the same grid × category × week, or the same place, is updated, never duplicated; an
    acknowledgement stays)."""
    now = now or timezone.now()
    found = warnings.findings(now)
    today = timezone.localdate(now)
    recent_repeats = list(
        EarlyWarning.objects.filter(
            kind=WarningKind.REPEAT,
            period_end__gte=today - dt.timedelta(days=warnings.REPEAT_DAYS),
        )
    )
    created = updated = 0
    for f in found:
        target = (
            _same_place(recent_repeats, f)
            if f.kind == WarningKind.REPEAT
            else EarlyWarning.objects.filter(key=_key(f)).first()
        )
        if target is None:
            target = EarlyWarning.objects.create(
                kind=f.kind,
                key=_key(f),
                region_code=f.region_code,
                category_id=f.category_id,
                period_start=f.period_start,
                period_end=f.period_end,
                count=f.count,
                baseline_mean=f.mean,
                baseline_sd=f.sd,
                lat=f.lat,
                lng=f.lng,
                case_ids=f.case_ids,
                created_at=now,
                updated_at=now,
            )
            if f.kind == WarningKind.REPEAT:
                recent_repeats.append(target)
            created += 1
            continue
        case_ids = sorted(set(target.case_ids) | set(f.case_ids))[: warnings.MAX_CASE_IDS]
        if f.kind == WarningKind.REPEAT:
            count = len(set(target.case_ids) | set(f.case_ids))
            period_start = min(target.period_start, f.period_start)
        else:
            count, period_start = f.count, target.period_start
        changed = (count, case_ids, f.period_end) != (
            target.count,
            target.case_ids,
            target.period_end,
        )
        if changed:
            EarlyWarning.objects.filter(pk=target.pk).update(
                count=count,
                case_ids=case_ids,
                period_start=period_start,
                period_end=max(f.period_end, target.period_end),
                baseline_mean=f.mean if f.mean is not None else target.baseline_mean,
                baseline_sd=f.sd if f.sd is not None else target.baseline_sd,
                updated_at=now,
            )
            updated += 1
    return {"found": len(found), "created": created, "updated": updated}


@transaction.atomic
def warning_acknowledge(
    *, actor: User, warning_id: int, note: str = "", request: HttpRequest | None = None
) -> EarlyWarning:
    """Acknowledge (确认) a warning within the actor's scope: once only, audited."""
    if len(note) > 500:
        raise InvalidInput(
            _("确认说明不能超过 500 字。"), code="invalid", details={"field": "note"}
        )
    warning = get_scoped_or_404(EarlyWarning.objects.all(), actor, PERM, pk=warning_id)
    now = timezone.now()
    rows = EarlyWarning.objects.filter(pk=warning.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=actor, acknowledgement_note=note.strip()
    )
    if rows != 1:
        raise ConflictError(_("该预警已被确认。"), code="already_acknowledged")
    warning.refresh_from_db()
    audit_record(
        actor=actor,
        action="analytics.warning_acknowledge",
        obj=warning,
        reason=note.strip(),
        request=request,
        details={"kind": warning.kind, "count": warning.count},
    )
    return warning
