"""Registrations with a capacity and a waitlist (报名/候补): one mechanism for every sign-up.

A subject — any model instance with an integer key: a meeting (月月谈), an activity, a desk
appointment slot — opens one `Roster` (capacity, waitlist on or off, optional window). People
register; when the places are taken they join the waitlist (if it is on), in arrival order.
A cancellation frees the place and promotes the first waitlisted person at once; so does a
raised capacity. The owning app decides who may act for whom (staff cancelling, marking
attendance) and calls these services; they keep the counts right under concurrency (the
roster's row is locked with select_for_update, the status changes are compare-and-set, and the
database refuses a second active registration per person and a count above the capacity).

    roster = roster_open(actor=staff, subject=meeting, capacity=30, closes_at=meeting.starts_at)
    registration = registration_create(actor=resident, roster=roster)   # registered/waitlisted
    registration_cancel(actor=resident, registration=registration)      # promotes the next one

Promotion hook: `promotion_hook_register("party.meeting", callback)` — after the commit that
promoted someone, `callback(registration)` is called for each promoted registration, so the
owning app can notify the person (a failing callback is logged, never undoes the promotion).

Used by: nothing yet — built for the wave-2 apps: meetings 月月谈, activities, desk
appointments (and anything else with places to fill).
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, models, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.audit import audit_record
from shequ.core.checkin import subject_key
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.models import (
    ACTIVE_REGISTRATION_STATUSES,
    PLACE_STATUSES,
    Registration,
    RegistrationStatus,
    Roster,
)

logger = logging.getLogger(__name__)

S = RegistrationStatus
PromotionHook = Callable[[Registration], None]
_promotion_hooks: dict[str, list[PromotionHook]] = defaultdict(list)


def promotion_hook_register(subject_type: str, callback: PromotionHook) -> None:
    """Call `callback(registration)` after the commit that promoted a waitlisted registration of
    a roster whose subject is of `subject_type` ("app.model"). Register in `AppConfig.ready()`."""
    if callback not in _promotion_hooks[subject_type]:
        _promotion_hooks[subject_type].append(callback)


def promotion_hook_unregister(subject_type: str, callback: PromotionHook) -> None:
    if callback in _promotion_hooks.get(subject_type, []):
        _promotion_hooks[subject_type].remove(callback)


def _announce(roster: Roster, promoted: list[int]) -> None:
    hooks = list(_promotion_hooks.get(roster.subject_type, ()))
    if not hooks or not promoted:
        return

    def run() -> None:
        for registration in Registration.objects.filter(pk__in=promoted).select_related("roster"):
            for hook in hooks:
                try:
                    hook(registration)
                except Exception:
                    logger.exception("promotion hook failed for registration %s", registration.pk)

    transaction.on_commit(run)


def _locked(roster: Roster) -> Roster:
    """The roster's row, locked until the end of the transaction (PostgreSQL; SQLite serialises
    writers anyway)."""
    return Roster.objects.select_for_update().get(pk=roster.pk)


def _capacity(value) -> int:
    try:
        capacity = int(value)
    except (TypeError, ValueError):
        capacity = -1
    if capacity < 0 or capacity > 100_000:
        raise InvalidInput(
            _("名额应为0到100000之间的整数。"),
            code="invalid_capacity",
            details={"field": "capacity"},
        )
    return capacity


def _promote(roster: Roster, now: datetime) -> list[int]:
    """Fill free places from the waitlist, first come first served; returns the promoted ids.
    The caller holds the roster's lock and has `roster` fresh from the database."""
    free = roster.capacity - roster.registered_count
    if free <= 0:
        return []
    waiting = list(
        Registration.objects.filter(roster=roster, status=S.WAITLISTED)
        .order_by("position")
        .values_list("pk", flat=True)[:free]
    )
    if not waiting:
        return []
    changed = Registration.objects.filter(pk__in=waiting, status=S.WAITLISTED).update(
        status=S.REGISTERED, promoted_at=now
    )
    if changed != len(waiting):
        raise ConflictError(_("数据已被他人修改，请刷新后重试。"), code="stale_state")
    Roster.objects.filter(pk=roster.pk).update(registered_count=F("registered_count") + changed)
    roster.registered_count += changed
    _announce(roster, waiting)
    return waiting


@transaction.atomic
def roster_open(
    *,
    actor,
    subject: models.Model,
    capacity: int,
    waitlist: bool = True,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Roster:
    """Open registration for `subject` (inside the owner's create service, which checks `actor`
    and audits the subject). One roster per subject: a second → ConflictError "roster_exists"."""
    subject_type, subject_id = subject_key(subject)
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise InvalidInput(
            _("报名截止时间必须晚于开始时间。"),
            code="invalid_window",
            details={"field": "closes_at"},
        )
    try:
        with transaction.atomic():
            return Roster.objects.create(
                subject_type=subject_type,
                subject_id=subject_id,
                region_code=getattr(subject, "region_code", "") or "",
                capacity=_capacity(capacity),
                waitlist=bool(waitlist),
                opens_at=opens_at,
                closes_at=closes_at,
            )
    except IntegrityError:
        raise ConflictError(_("该对象已开放报名。"), code="roster_exists") from None


def roster_for(subject: models.Model) -> Roster | None:
    subject_type, subject_id = subject_key(subject)
    return Roster.objects.filter(subject_type=subject_type, subject_id=subject_id).first()


@transaction.atomic
def roster_set_capacity(*, actor, roster: Roster, capacity: int, reason: str = "") -> Roster:
    """Change the number of places (the owning app checks that `actor` may). Raising it promotes
    waitlisted people in order; lowering it below the places already taken is refused
    (InvalidInput "capacity_below_registered") — cancel registrations first. Audited."""
    capacity = _capacity(capacity)
    roster = _locked(roster)
    if capacity < roster.registered_count:
        raise InvalidInput(
            _("名额不能少于已报名人数（%(n)s人），请先取消部分报名。")
            % {"n": roster.registered_count},
            code="capacity_below_registered",
            details={"field": "capacity", "registered": roster.registered_count},
        )
    before = roster.capacity
    Roster.objects.filter(pk=roster.pk).update(capacity=capacity)
    roster.capacity = capacity
    promoted = _promote(roster, timezone.now()) if roster.waitlist else []
    audit_record(
        actor=actor,
        action="core.roster_set_capacity",
        obj=roster,
        reason=reason,
        details={"from": before, "to": capacity, "promoted": len(promoted)},
    )
    roster.refresh_from_db()
    return roster


def registration_create(*, actor, roster: Roster, now: datetime | None = None) -> Registration:
    """Register `actor`: a free place → registered; full with the waitlist on → waitlisted (at
    the end of the queue); full without → ConflictError "full". A second active registration →
    ConflictError "already_registered"; outside the window → ConflictError "closed"."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDeniedError(_("请先登录后再报名。"), code="login_required")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _register(actor=actor, roster=roster, now=now)
    except IntegrityError:
        # Only a concurrent registration of the same person gets here (the partial unique
        # constraint); places are counted under the roster's lock.
        raise ConflictError(_("您已报名，请勿重复报名。"), code="already_registered") from None


def _register(*, actor, roster: Roster, now: datetime) -> Registration:
    roster = _locked(roster)
    if (roster.opens_at is not None and now < roster.opens_at) or (
        roster.closes_at is not None and now > roster.closes_at
    ):
        raise ConflictError(_("不在报名时间内。"), code="closed")
    if Registration.objects.filter(
        roster=roster, user=actor, status__in=ACTIVE_REGISTRATION_STATUSES
    ).exists():
        raise ConflictError(_("您已报名，请勿重复报名。"), code="already_registered")
    if roster.registered_count < roster.capacity:
        taken = Roster.objects.filter(
            pk=roster.pk, registered_count=roster.registered_count
        ).update(registered_count=F("registered_count") + 1)
        if taken != 1:
            raise ConflictError(_("数据已被他人修改，请刷新后重试。"), code="stale_state")
        return Registration.objects.create(
            roster=roster, user=actor, status=S.REGISTERED, registered_at=now
        )
    if not roster.waitlist:
        raise ConflictError(_("名额已满。"), code="full")
    last = Registration.objects.filter(roster=roster).aggregate(last=Max("position"))["last"]
    return Registration.objects.create(
        roster=roster,
        user=actor,
        status=S.WAITLISTED,
        registered_at=now,
        position=(last or 0) + 1,
    )


@transaction.atomic
def registration_cancel(
    *, actor, registration: Registration, by_staff: bool = False, reason: str = ""
) -> Registration:
    """Cancel a registered or waitlisted registration. A person cancels their own; anyone else
    needs `by_staff=True`, which the owning app passes after checking its own permission (and
    which is audited, with the reason). A freed place goes to the first waitlisted person."""
    if registration.user_id != actor.pk and not by_staff:
        raise PermissionDeniedError(_("只能取消自己的报名。"), code="not_your_registration")
    roster = _locked(registration.roster)
    registration.refresh_from_db()
    old = registration.status
    if old not in ACTIVE_REGISTRATION_STATUSES:
        raise ConflictError(_("该报名已取消或已结束。"), code="not_active")
    now = timezone.now()
    changed = Registration.objects.filter(pk=registration.pk, status=old).update(
        status=S.CANCELLED, cancelled_at=now
    )
    if changed != 1:
        raise ConflictError(_("数据已被他人修改，请刷新后重试。"), code="stale_state")
    if old == S.REGISTERED:
        Roster.objects.filter(pk=roster.pk).update(registered_count=F("registered_count") - 1)
        roster.registered_count -= 1
        if roster.waitlist:
            _promote(roster, now)
    if by_staff:
        audit_record(
            actor=actor,
            action="core.registration_cancel_by_staff",
            obj=roster,
            reason=reason,
            details={"registration": registration.pk, "user": registration.user_id, "was": old},
        )
    registration.refresh_from_db()
    return registration


@transaction.atomic
def registration_mark_attended(
    *, actor, registration: Registration, attended: bool = True
) -> Registration:
    """Mark a registered person as attended (or not: no-show), by the organiser — the owning app
    checks that `actor` may (or calls this after a verified core.checkin code). Marking again
    corrects the mark; waitlisted or cancelled registrations cannot be marked. Audited."""
    roster = _locked(registration.roster)
    registration.refresh_from_db()
    old = registration.status
    if old not in PLACE_STATUSES:
        raise ConflictError(_("只有已报名的人可以标记到场情况。"), code="not_registered")
    new = S.ATTENDED if attended else S.NO_SHOW
    changed = Registration.objects.filter(pk=registration.pk, status=old).update(
        status=new, marked_at=timezone.now()
    )
    if changed != 1:
        raise ConflictError(_("数据已被他人修改，请刷新后重试。"), code="stale_state")
    if old != new:
        audit_record(
            actor=actor,
            action="core.registration_mark_attended",
            obj=roster,
            details={"registration": registration.pk, "user": registration.user_id, "to": new},
        )
    registration.refresh_from_db()
    return registration
