"""Deadlines (办理时限): one clock mechanism for every app, and the one sweep job over all.

Who uses it: the closed loop today (its SLA sweep over the step clocks on `Case` takes part as a
participant, the fast path for millions of cases; its limits are `LimitUnit`s); tomorrow the
consultation follow-ups (议定事项跟进), care visits and alarms, service applications (补正 pauses
the clock) and three-party action items keep their clocks here as `Deadline` rows.

An app registers its kinds in `ready()` and calls the services from its own services:

    deadlines.register_kind("deliberation.followup", label=_("议定事项跟进"),
                            on_level=notify_followups, on_escalate=escalate_followups)
    clock = deadline_start(subject=item, kind="deliberation.followup", amount=5,
                           unit=LimitUnit.WORK_DAYS, region_code=item.region_code,
                           ladder=[{"after": 0, "unit": "work_hours", "level": "community"},
                                   {"after": 2, "unit": "work_days", "level": "township"}])
    deadline_pause(deadline=clock, actor=user, reason="等待居民补正材料")   # 补正 / 挂起
    deadline_resume(deadline=clock, actor=user)      # due and warn move by the paused time
    deadline_meet(deadline=clock)                    # or deadline_cancel(…, actor=…)

The clock: due `amount` `unit`s after `started_at` on the working calendar (shequ/core/calendar.py),
yellow at `warn_ratio` (80 %) of the allowed time on the same clock, red once overdue. A pause
stops it; resuming pushes `due_at`, `warn_at` and the next escalation by the paused time measured
on the deadline's own clock (working time for work units, so a pause over a weekend costs
nothing). One open (running or paused) deadline per (subject, kind): a database constraint.

Escalation ladders are data: a list of rungs `{"after": 4, "unit": "work_hours", "level":
"township"}`, each counted from the due time ("overdue by 4 working hours → township"). `rung`
counts the rungs climbed, `next_escalate_at` is when the next one is due (None at the top).

The sweep (`deadlines_sweep`, the periodic job "core.deadlines_sweep" every minute, and
`manage.py sla_sweep`) runs the registered participant sweeps, then colours the running rows
green → yellow → red and climbs one rung when `next_escalate_at` passed — each by compare-and-set
on rows locked with SKIP LOCKED, so two sweeps at once never change (or report) a row twice. The
kinds' callbacks get the changed rows after commit, in bulk.
"""

import functools
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, models, transaction
from django.db.models import F, QuerySet
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.audit import audit_record
from shequ.core.calendar import LAST_DAY, WorkCalendar, get_calendar
from shequ.core.errors import ConflictError, InvalidInput, NotFoundError
from shequ.core.models import (
    OPEN_DEADLINE_STATES,
    Deadline,
    DeadlineLevel,
    DeadlineState,
    LimitUnit,
)
from shequ.core.scoping import prefix_q

__all__ = [
    "Deadline",
    "DeadlineLevel",
    "DeadlineState",
    "LimitUnit",
    "deadline_cancel",
    "deadline_for",
    "deadline_meet",
    "deadline_pause",
    "deadline_resume",
    "deadline_start",
    "deadlines_at_level",
    "deadlines_overdue",
    "deadlines_sweep",
    "register_kind",
    "register_participant",
]

logger = logging.getLogger("shequ.core.deadlines")
Actor = AbstractBaseUser | AnonymousUser | None
DEFAULT_WARN_RATIO = 0.8
MAX_RUNGS = 10
CHUNK = 2000
LEVEL_ORDER = {DeadlineLevel.GREEN: 0, DeadlineLevel.YELLOW: 1, DeadlineLevel.RED: 2}


# Registry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineKind:
    """A kind of deadline an app owns, with the callbacks the sweep calls after commit:
    `on_level(rows)` when it coloured rows (each row's `level` is the new one) and
    `on_escalate(rows)` when it climbed a rung (`rung`, `escalation_level` are the new ones)."""

    kind: str
    label: Any
    on_level: Callable[[list[Deadline]], None] | None = None
    on_escalate: Callable[[list[Deadline]], None] | None = None


_kinds: dict[str, DeadlineKind] = {}
_participants: dict[str, Callable[..., Any]] = {}


def register_kind(kind: str, *, label, on_level=None, on_escalate=None) -> DeadlineKind:
    """Declare a kind ("app.what", e.g. "care.visit") in the app's `ready()`."""
    if not kind or "." not in kind or len(kind) > 64:
        raise ValueError(f"a deadline kind is 'app.what' and at most 64 characters: {kind!r}")
    entry = DeadlineKind(kind=kind, label=label, on_level=on_level, on_escalate=on_escalate)
    _kinds[kind] = entry
    return entry


def unregister_kind(kind: str) -> None:
    """Remove a kind (tests)."""
    _kinds.pop(kind, None)


def kinds() -> dict[str, DeadlineKind]:
    return dict(_kinds)


def kind_label(kind: str) -> str:
    entry = _kinds.get(kind)
    return str(entry.label) if entry else kind


def register_participant(name: str, sweep: Callable[..., Any]) -> None:
    """Add an app's own sweep (`sweep(now=…)`, returning a dict or an object with `as_dict()`)
    to the one sweep job: the closed loop's SLA sweep over its step clocks registers here."""
    _participants[name] = sweep


def unregister_participant(name: str) -> None:
    """Remove a participant (tests)."""
    _participants.pop(name, None)


def participants() -> dict[str, Callable[..., Any]]:
    return dict(_participants)


# Validation ----------------------------------------------------------------------------------


def subject_key(subject) -> tuple[str, str]:
    """("app.model", "pk") of a saved model instance, or of an ("app.model", id) pair."""
    if isinstance(subject, models.Model):
        if subject.pk is None:
            raise InvalidInput(_("时限对象尚未保存"), code="deadline_bad_subject")
        return subject._meta.label_lower, str(subject.pk)
    if (
        isinstance(subject, tuple)
        and len(subject) == 2
        and isinstance(subject[0], str)
        and "." in subject[0]
        and str(subject[1])
    ):
        return subject[0][:64], str(subject[1])[:64]
    raise InvalidInput(_("时限对象无效"), code="deadline_bad_subject")


def _number(value, *, message: str, code: str, minimum: float = 0.0, strict: bool = False):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(message, code=code)
    if value < minimum or (strict and value == minimum):
        raise InvalidInput(message, code=code)
    return float(value)


def clean_ladder(ladder: Iterable[Mapping] | None) -> list[dict]:
    """The rungs as stored: [{"after": ≥ 0, "unit": LimitUnit, "level": name}, …]."""
    rungs = []
    for rung in ladder or ():
        if not isinstance(rung, Mapping):
            raise InvalidInput(
                _("升级阶梯的每一级须写明时长、单位和层级"), code="deadline_bad_ladder"
            )
        after = _number(
            rung.get("after"),
            message=_("升级阶梯的时长须为不小于 0 的数"),
            code="deadline_bad_ladder",
        )
        unit, level = rung.get("unit"), rung.get("level")
        if unit not in LimitUnit.values:
            raise InvalidInput(_("升级阶梯的时限单位无效"), code="deadline_bad_ladder")
        if not isinstance(level, str) or not level.strip() or len(level) > 32:
            raise InvalidInput(_("升级阶梯的层级名称无效"), code="deadline_bad_ladder")
        rungs.append({"after": after, "unit": str(unit), "level": level.strip()})
    if len(rungs) > MAX_RUNGS:
        raise InvalidInput(
            _("升级阶梯最多 %(n)d 级") % {"n": MAX_RUNGS}, code="deadline_bad_ladder"
        )
    return rungs


def _escalate_at(calendar: WorkCalendar, due_at, ladder: list, rung: int):
    """When the next rung (index `rung`) is due: its `after` counted from the due time."""
    if rung >= len(ladder):
        return None
    step = ladder[rung]
    return calendar.add(due_at, step["after"], step["unit"])


def _level_at(now, warn_at, due_at) -> str:
    if now >= due_at:
        return DeadlineLevel.RED
    if now >= warn_at:
        return DeadlineLevel.YELLOW
    return DeadlineLevel.GREEN


# Services ------------------------------------------------------------------------------------


@transaction.atomic
def deadline_start(
    *,
    subject,
    kind: str,
    amount: float,
    unit: str,
    region_code: str = "",
    start=None,
    warn_ratio: float = DEFAULT_WARN_RATIO,
    ladder: Iterable[Mapping] | None = None,
) -> Deadline:
    """Start the clock of `kind` for `subject` (a saved model instance or ("app.model", id)).

    Called by the owning app's service when the obligation begins: a follow-up agreed, a visit
    planned, an alarm raised, an application accepted. `start` defaults to now; `region_code`
    scopes the lists and tells the callbacks whom to tell."""
    if kind not in _kinds:
        raise InvalidInput(
            _("未登记的时限类型：%(kind)s") % {"kind": kind}, code="deadline_bad_kind"
        )
    subject_type, subject_id = subject_key(subject)
    amount = _number(amount, message=_("时限须为正数"), code="deadline_bad_amount", strict=True)
    if unit not in LimitUnit.values:
        raise InvalidInput(_("时限单位无效"), code="deadline_bad_unit")
    warn_ratio = _number(
        warn_ratio, message=_("预警比例须大于 0 且不超过 1"), code="deadline_bad_ratio", strict=True
    )
    if warn_ratio > 1:
        raise InvalidInput(_("预警比例须大于 0 且不超过 1"), code="deadline_bad_ratio")
    region_code = region_code or ""
    if region_code and (
        not isinstance(region_code, str) or len(region_code) > 15 or not region_code.isdigit()
    ):
        raise InvalidInput(_("区域代码无效"), code="deadline_bad_region")
    rungs = clean_ladder(ladder)
    start = start or timezone.now()
    calendar = get_calendar()
    try:
        due_at = calendar.add(start, amount, unit)
        warn_at = calendar.between(start, due_at, warn_ratio, unit)
        next_escalate_at = _escalate_at(calendar, due_at, rungs, 0)
        if timezone.localtime(due_at).date() > LAST_DAY:
            raise ValueError(f"due after {LAST_DAY}")
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(_("时限超出工作日历的范围"), code="deadline_out_of_range") from exc
    try:
        with transaction.atomic():
            return Deadline.objects.create(
                subject_type=subject_type,
                subject_id=subject_id,
                kind=kind,
                region_code=region_code,
                amount=amount,
                unit=unit,
                warn_ratio=warn_ratio,
                started_at=start,
                warn_at=warn_at,
                due_at=due_at,
                ladder=rungs,
                next_escalate_at=next_escalate_at,
            )
    except IntegrityError as exc:
        raise ConflictError(_("该事项已有进行中的同类时限"), code="deadline_exists") from exc


def _current(deadline: Deadline) -> Deadline:
    current = Deadline.objects.filter(pk=deadline.pk).first()
    if current is None:
        raise NotFoundError(_("时限不存在"), code="deadline_not_found")
    return current


def _refuse(current: Deadline, *, action: str):
    """The ConflictError for `action` on a deadline in the wrong state."""
    if current.state in (DeadlineState.MET, DeadlineState.CANCELLED):
        raise ConflictError(_("时限已结束，不能再更改"), code="deadline_finished")
    if action == "pause" and current.state == DeadlineState.PAUSED:
        raise ConflictError(_("时限已暂停，不能再次暂停"), code="deadline_already_paused")
    if action == "resume" and current.state == DeadlineState.RUNNING:
        raise ConflictError(_("时限正在计时，无需恢复"), code="deadline_not_paused")
    raise ConflictError(_("时限状态已变化，请刷新后重试"), code="deadline_changed")


def _resumed(current: Deadline, now) -> dict:
    """The fields of a paused clock resumed at `now`: due, warn and the next rung move by the
    paused time on the deadline's own clock; the colour only ever goes down (the sweep raises
    it again, with its callbacks)."""
    calendar = get_calendar()
    paused = max(0.0, calendar.elapsed(current.paused_at, now, current.unit))
    due_at = calendar.shift(current.due_at, paused, current.unit)
    warn_at = calendar.shift(current.warn_at, paused, current.unit)
    level = min(current.level, _level_at(now, warn_at, due_at), key=LEVEL_ORDER.__getitem__)
    return {
        "due_at": due_at,
        "warn_at": warn_at,
        "next_escalate_at": _escalate_at(calendar, due_at, current.ladder, current.rung),
        "level": level,
        "paused_at": None,
        "paused_seconds": current.paused_seconds + round(paused),
    }


@transaction.atomic
def deadline_pause(
    *, deadline: Deadline, actor: Actor = None, reason: str = "", request=None
) -> Deadline:
    """Stop the clock (补正: waiting for the applicant's papers; 挂起: waiting for another body).

    Called by the owning app's service; audited ("core.deadline_pause")."""
    now = timezone.now()
    changed = Deadline.objects.filter(pk=deadline.pk, state=DeadlineState.RUNNING).update(
        state=DeadlineState.PAUSED, paused_at=now, pauses=F("pauses") + 1
    )
    if changed != 1:
        _refuse(_current(deadline), action="pause")
    deadline.refresh_from_db()
    audit_record(
        actor=actor,
        action="core.deadline_pause",
        obj=deadline,
        reason=reason,
        request=request,
        details={"kind": deadline.kind},
    )
    return deadline


@transaction.atomic
def deadline_resume(
    *, deadline: Deadline, actor: Actor = None, reason: str = "", request=None
) -> Deadline:
    """Start a paused clock again; due and warn times move by the paused (working) time.

    Called by the owning app's service (the papers arrived); audited ("core.deadline_resume")."""
    current = _current(deadline)
    if current.state != DeadlineState.PAUSED:
        _refuse(current, action="resume")
    fields = _resumed(current, timezone.now())
    changed = Deadline.objects.filter(
        pk=current.pk, state=DeadlineState.PAUSED, paused_at=current.paused_at
    ).update(state=DeadlineState.RUNNING, **fields)
    if changed != 1:
        _refuse(_current(deadline), action="resume")
    deadline.refresh_from_db()
    audit_record(
        actor=actor,
        action="core.deadline_resume",
        obj=deadline,
        reason=reason,
        request=request,
        details={"kind": deadline.kind, "paused_seconds": fields["paused_seconds"]},
    )
    return deadline


def _finish(deadline: Deadline, state: str) -> Deadline:
    current = _current(deadline)
    if current.state not in OPEN_DEADLINE_STATES:
        _refuse(current, action=state)
    now = timezone.now()
    fields = {}
    if current.state == DeadlineState.PAUSED:  # the paused time counts as if resumed now
        resumed = _resumed(current, now)
        fields = {key: resumed[key] for key in ("due_at", "warn_at", "paused_seconds")}
    changed = Deadline.objects.filter(pk=current.pk, state=current.state).update(
        state=state, finished_at=now, paused_at=None, next_escalate_at=None, **fields
    )
    if changed != 1:
        _refuse(_current(deadline), action=state)
    deadline.refresh_from_db()
    return deadline


@transaction.atomic
def deadline_meet(*, deadline: Deadline) -> Deadline:
    """The obligation is done (办结): the clock stops for good and the sweep leaves it alone;
    `met_late` says whether it was in time. Called inside the owning app's own audited act."""
    return _finish(deadline, DeadlineState.MET)


@transaction.atomic
def deadline_cancel(
    *, deadline: Deadline, actor: Actor = None, reason: str = "", request=None
) -> Deadline:
    """Drop the clock (the obligation went away: an application withdrawn, a visit plan ended).
    Audited ("core.deadline_cancel")."""
    deadline = _finish(deadline, DeadlineState.CANCELLED)
    audit_record(
        actor=actor,
        action="core.deadline_cancel",
        obj=deadline,
        reason=reason,
        request=request,
        details={"kind": deadline.kind},
    )
    return deadline


# Selectors -----------------------------------------------------------------------------------


def deadline_for(subject, kind: str) -> Deadline | None:
    """The subject's open deadline of `kind`, else its latest finished one, else None (pages
    showing "due on …" or "met on time")."""
    subject_type, subject_id = subject_key(subject)
    rows = Deadline.objects.filter(subject_type=subject_type, subject_id=subject_id, kind=kind)
    return (
        rows.filter(state__in=OPEN_DEADLINE_STATES).first()
        or rows.order_by("-started_at", "-id").first()
    )


def _in_region(rows: QuerySet, region_prefix: str, kind: str | None) -> QuerySet:
    if region_prefix:
        rows = rows.filter(prefix_q("region_code", region_prefix))
    if kind:
        rows = rows.filter(kind=kind)
    return rows


def deadlines_overdue(*, region_prefix: str = "", kind: str | None = None, now=None) -> QuerySet:
    """Running clocks past their due time inside `region_prefix` (督办 lists, counts), oldest
    first. Callers scope `region_prefix` to the viewer (`shequ.core.scoping`)."""
    now = now or timezone.now()
    rows = Deadline.objects.filter(state=DeadlineState.RUNNING, due_at__lte=now)
    return _in_region(rows, region_prefix, kind).order_by("due_at", "id")


def deadlines_at_level(level: str, *, region_prefix: str = "", kind: str | None = None) -> QuerySet:
    """Running clocks the sweep coloured `level` (yellow: due soon; red: overdue)."""
    if level not in DeadlineLevel.values:
        raise InvalidInput(_("时限状态无效"), code="deadline_bad_level")
    rows = Deadline.objects.filter(state=DeadlineState.RUNNING, level=level)
    return _in_region(rows, region_prefix, kind).order_by("due_at", "id")


# The sweep -----------------------------------------------------------------------------------


@dataclass
class DeadlineSweepResult:
    yellow: int = 0
    red: int = 0
    escalated: int = 0
    seconds: float = 0.0
    participants: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "yellow": self.yellow,
            "red": self.red,
            "escalated": self.escalated,
            "seconds": round(self.seconds, 3),
            "participants": self.participants,
        }


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _call_back(hook: str, rows: list[Deadline]) -> None:
    """After commit: hand each kind's changed rows to its callback, in one call per kind."""
    by_kind: dict[str, list[Deadline]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    for kind, group in by_kind.items():
        callback = getattr(_kinds.get(kind), hook, None)
        if callback is not None:
            transaction.on_commit(functools.partial(callback, group), robust=True)


def _locked(ids: list[int], **conditions) -> list[Deadline]:
    # Rows another sweep is changing right now are skipped (PostgreSQL); SQLite serialises
    # write transactions (IMMEDIATE), so there the compare-and-set on the old value suffices.
    return list(
        Deadline.objects.select_for_update(skip_locked=True).filter(pk__in=ids, **conditions)
    )


def _mark(ids: list[int], old: list[str], new: str) -> list[Deadline]:
    """Compare-and-set the colour; returns the rows this sweep actually changed."""
    changed: list[Deadline] = []
    for chunk in _chunks(ids):
        with transaction.atomic():
            rows = _locked(chunk, state=DeadlineState.RUNNING, level__in=old)
            if not rows:
                continue
            Deadline.objects.filter(
                pk__in=[row.pk for row in rows], state=DeadlineState.RUNNING, level__in=old
            ).update(level=new)
            for row in rows:
                row.level = new
            _call_back("on_level", rows)
            changed += rows
    return changed


def _escalate(ids: list[int], now) -> list[Deadline]:
    """Climb one rung on each row whose next escalation passed (compare-and-set on the rung)."""
    calendar = get_calendar()
    changed: list[Deadline] = []
    for chunk in _chunks(ids):
        with transaction.atomic():
            climbed = []
            for row in _locked(chunk, state=DeadlineState.RUNNING, next_escalate_at__lte=now):
                rung = row.rung + 1
                following = _escalate_at(calendar, row.due_at, row.ladder, rung)
                if Deadline.objects.filter(
                    pk=row.pk, state=DeadlineState.RUNNING, rung=row.rung
                ).update(rung=rung, next_escalate_at=following):
                    row.rung, row.next_escalate_at = rung, following
                    climbed.append(row)
            _call_back("on_escalate", climbed)
            changed += climbed
    return changed


def _ids(**conditions) -> list[int]:
    return list(
        Deadline.objects.filter(state=DeadlineState.RUNNING, **conditions)
        .order_by()
        .values_list("id", flat=True)
    )


def deadlines_sweep(*, now=None) -> DeadlineSweepResult:
    """One pass of the one sweep job at `now` (default: the current time): every registered
    participant sweep (the closed loop's SLA sweep), then the Deadline rows. A participant that
    fails does not stop the others; the first failure is raised at the end."""
    started = time.perf_counter()
    now = now or timezone.now()
    result = DeadlineSweepResult()
    failure: Exception | None = None
    for name, sweep in sorted(_participants.items()):
        try:
            outcome = sweep(now=now)
        except Exception as exc:
            logger.exception("deadline sweep participant %s failed", name)
            failure = failure or exc
            continue
        result.participants[name] = outcome.as_dict() if hasattr(outcome, "as_dict") else outcome

    yellow = _ids(level=DeadlineLevel.GREEN, warn_at__lte=now, due_at__gt=now)
    result.yellow = len(_mark(yellow, [DeadlineLevel.GREEN], DeadlineLevel.YELLOW))
    red = _ids(level__in=[DeadlineLevel.GREEN, DeadlineLevel.YELLOW], due_at__lte=now)
    result.red = len(_mark(red, [DeadlineLevel.GREEN, DeadlineLevel.YELLOW], DeadlineLevel.RED))
    result.escalated = len(_escalate(_ids(next_escalate_at__lte=now), now))
    result.seconds = time.perf_counter() - started
    if result.yellow or result.red or result.escalated:
        logger.info("deadline sweep: %s", result.as_dict())
    if failure is not None:
        raise failure
    return result


@task
def deadlines_sweep_task() -> dict:
    """The minute-by-minute sweep (registered with core.schedule as "core.deadlines_sweep")."""
    return deadlines_sweep().as_dict()
