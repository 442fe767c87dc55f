"""Deadline clocks (shequ/core/deadlines.py): start, pause and resume on the working calendar,
yellow, red and escalation by the one sweep with each callback once, the database's rules, and a
second caller (a test-only kind) beside the closed loop's participant sweep."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from shequ.core import calendar, deadlines
from shequ.core.deadlines import (
    Deadline,
    DeadlineLevel,
    DeadlineState,
    LimitUnit,
    deadline_cancel,
    deadline_for,
    deadline_meet,
    deadline_pause,
    deadline_resume,
    deadline_start,
    deadlines_at_level,
    deadlines_overdue,
    deadlines_sweep,
)
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.models import AuditEvent, CalendarDay

pytestmark = pytest.mark.django_db

KIND = "tests.followup"
GRID = "321181001001001"
LADDER = [
    {"after": 0, "unit": "work_hours", "level": "community"},
    {"after": 4, "unit": "work_hours", "level": "township"},
]


def at(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


def local(moment) -> dt.datetime:
    return timezone.localtime(moment).replace(tzinfo=None)


@pytest.fixture(autouse=True)
def fresh_calendar():
    calendar.reset_cache()
    yield
    calendar.reset_cache()


@pytest.fixture
def calls():
    """A test-only kind: the generic path, with callbacks that record what they were given."""
    seen: dict[str, list] = {"level": [], "escalate": []}
    deadlines.register_kind(
        KIND,
        label="测试跟进",
        on_level=lambda rows: seen["level"].append(sorted((r.pk, r.level) for r in rows)),
        on_escalate=lambda rows: seen["escalate"].append(
            sorted((r.pk, r.rung, r.escalation_level) for r in rows)
        ),
    )
    yield seen
    deadlines.unregister_kind(KIND)


@pytest.fixture
def holiday_monday():
    # A local holiday on Monday 30 November 2026 (the editable calendar table).
    CalendarDay.objects.create(date=dt.date(2026, 11, 30), is_workday=False, note="地方假日")


def start(subject=("tests.item", 1), **kwargs):
    fields = {"kind": KIND, "amount": 2, "unit": LimitUnit.WORK_DAYS, "region_code": GRID}
    fields.update(kwargs)
    with time_machine.travel(fields.pop("now", at(2026, 11, 26, 9, 0)), tick=False):
        return deadline_start(subject=subject, **fields)


def sweep(moment, capture):
    with capture(execute=True):
        return deadlines_sweep(now=moment)


# The clock -------------------------------------------------------------------------------------


def test_start_pause_resume_across_a_weekend_and_a_holiday(calls, holiday_monday, persona):
    # Thu 26 Nov 09:00 + 2 工作日 → Tue 1 Dec 09:00 (Sat, Sun off; Monday a local holiday);
    # yellow at 80 % of the 15 working hours → Fri 15:00.
    clock = start(ladder=LADDER)
    assert (local(clock.due_at), local(clock.warn_at)) == (
        dt.datetime(2026, 12, 1, 9, 0),
        dt.datetime(2026, 11, 27, 15, 0),
    )
    assert clock.state == DeadlineState.RUNNING and clock.level == DeadlineLevel.GREEN
    with time_machine.travel(at(2026, 11, 27, 10, 0), tick=False):
        clock = deadline_pause(deadline=clock, actor=persona("community"), reason="等待补正材料")
    assert clock.state == DeadlineState.PAUSED and clock.pauses == 1
    # Paused Fri 10:00 → Tue 10:00: 6 h on Friday + 1.5 h on Tuesday = one 工作日 (7.5 h).
    with time_machine.travel(at(2026, 12, 1, 10, 0), tick=False):
        clock = deadline_resume(deadline=clock, actor=persona("community"))
    assert clock.state == DeadlineState.RUNNING and clock.paused_at is None
    assert clock.paused_seconds == 7.5 * 3600
    assert (local(clock.due_at), local(clock.warn_at)) == (
        dt.datetime(2026, 12, 2, 9, 0),
        dt.datetime(2026, 12, 1, 15, 0),
    )
    assert local(clock.next_escalate_at) == dt.datetime(2026, 12, 2, 9, 0)  # rung 1: at due
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "reason"))
    assert actions[-2:] == [("core.deadline_pause", "等待补正材料"), ("core.deadline_resume", "")]


def test_a_pause_in_clock_hours_counts_nights_and_weekends(calls):
    clock = start(amount=24, unit=LimitUnit.HOURS, now=at(2026, 11, 27, 20, 0))  # Fri 20:00
    assert local(clock.due_at) == dt.datetime(2026, 11, 28, 20, 0)
    assert local(clock.warn_at) == dt.datetime(2026, 11, 28, 15, 12)  # 80 % of 24 h
    with time_machine.travel(at(2026, 11, 27, 22, 0), tick=False):
        clock = deadline_pause(deadline=clock)
    with time_machine.travel(at(2026, 11, 28, 1, 30), tick=False):
        clock = deadline_resume(deadline=clock)
    assert local(clock.due_at) == dt.datetime(2026, 11, 28, 23, 30)


def test_pausing_a_paused_clock_is_refused(calls):
    clock = start()
    deadline_pause(deadline=clock)
    with pytest.raises(ConflictError) as error:
        deadline_pause(deadline=clock)
    assert error.value.code == "deadline_already_paused" and "已暂停" in error.value.message
    assert Deadline.objects.get(pk=clock.pk).pauses == 1


def test_resuming_a_running_clock_is_refused(calls):
    clock = start()
    with pytest.raises(ConflictError) as error:
        deadline_resume(deadline=clock)
    assert error.value.code == "deadline_not_paused" and "正在计时" in error.value.message


def test_a_finished_clock_cannot_change(calls):
    clock = deadline_meet(deadline=start())
    for service in (deadline_pause, deadline_resume, deadline_meet, deadline_cancel):
        with pytest.raises(ConflictError) as error:
            service(deadline=clock)
        assert error.value.code == "deadline_finished"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"kind": "tests.unknown"}, "deadline_bad_kind"),
        ({"amount": 0}, "deadline_bad_amount"),
        ({"amount": -1}, "deadline_bad_amount"),
        ({"amount": float("nan")}, "deadline_bad_amount"),
        ({"amount": "3"}, "deadline_bad_amount"),
        ({"amount": 10**7}, "deadline_out_of_range"),
        ({"unit": "fortnights"}, "deadline_bad_unit"),
        ({"warn_ratio": 0}, "deadline_bad_ratio"),
        ({"warn_ratio": 1.5}, "deadline_bad_ratio"),
        ({"region_code": "32118x"}, "deadline_bad_region"),
        ({"ladder": [{"after": -1, "unit": "hours", "level": "city"}]}, "deadline_bad_ladder"),
        ({"ladder": [{"after": 1, "unit": "weeks", "level": "city"}]}, "deadline_bad_ladder"),
        ({"ladder": [{"after": 1, "unit": "hours", "level": ""}]}, "deadline_bad_ladder"),
        ({"ladder": ["city"]}, "deadline_bad_ladder"),
        ({"subject": ("nodot", 1)}, "deadline_bad_subject"),
    ],
)
def test_bad_input_is_refused_in_chinese(calls, change, code):
    subject = change.pop("subject", ("tests.item", 1))
    with pytest.raises(InvalidInput) as error:
        start(subject=subject, **change)
    assert error.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.value.message)
    assert not Deadline.objects.exists()


def test_an_unsaved_object_has_no_clock(calls):
    from shequ.accounts.models import User

    with pytest.raises(InvalidInput) as error:
        start(subject=User(username="nobody"))
    assert error.value.code == "deadline_bad_subject"


# The database's rules --------------------------------------------------------------------------


def test_one_open_clock_per_subject_and_kind(calls):
    clock = start()
    with pytest.raises(ConflictError) as error:
        start()
    assert error.value.code == "deadline_exists"
    fields = {
        f.name: getattr(clock, f.name) for f in Deadline._meta.concrete_fields if f.name != "id"
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Deadline.objects.create(**fields)  # the partial unique constraint, not the service
    deadline_meet(deadline=clock)
    assert start().state == DeadlineState.RUNNING  # a finished clock does not block a new one
    assert start(subject=("tests.item", 2)).pk  # another subject
    assert Deadline.objects.count() == 3


@pytest.mark.parametrize(
    "change",
    [
        {"due_at": at(2026, 11, 25, 9, 0)},  # due before the start
        {"level": "purple"},
        {"state": "lost"},
        {"unit": "weeks"},
        {"amount": 0},
        {"state": "paused"},  # paused without paused_at
    ],
)
def test_the_database_refuses_an_impossible_clock(calls, change):
    moment = at(2026, 11, 26, 9, 0)
    fields = {
        "subject_type": "tests.item",
        "subject_id": "9",
        "kind": KIND,
        "amount": 1,
        "unit": "work_days",
        "started_at": moment,
        "warn_at": moment,
        "due_at": at(2026, 11, 27, 9, 0),
    }
    if "due_at" in change:
        fields["warn_at"] = change["due_at"]
    fields.update(change)
    with pytest.raises(IntegrityError), transaction.atomic():
        Deadline.objects.create(**fields)


# The sweep -------------------------------------------------------------------------------------


def test_yellow_red_and_a_rung_each_reported_once(calls, django_capture_on_commit_callbacks):
    clock = start(ladder=LADDER)  # due Mon 30 Nov 09:00, yellow Fri 27 Nov 15:00
    assert local(clock.due_at) == dt.datetime(2026, 11, 30, 9, 0)
    assert sweep(at(2026, 11, 27, 14, 59), django_capture_on_commit_callbacks).yellow == 0

    first = sweep(at(2026, 11, 27, 15, 0), django_capture_on_commit_callbacks)
    again = sweep(at(2026, 11, 27, 15, 1), django_capture_on_commit_callbacks)
    assert (first.yellow, again.yellow) == (1, 0)
    assert calls["level"] == [[(clock.pk, "yellow")]]
    assert [d.pk for d in deadlines_at_level("yellow", region_prefix=GRID[:9])] == [clock.pk]

    red = sweep(at(2026, 11, 30, 9, 0), django_capture_on_commit_callbacks)
    assert (red.red, red.escalated) == (1, 1)  # the first rung counts from the due time
    sweep(at(2026, 11, 30, 9, 1), django_capture_on_commit_callbacks)
    assert calls["level"] == [[(clock.pk, "yellow")], [(clock.pk, "red")]]
    assert calls["escalate"] == [[(clock.pk, 1, "community")]]

    # Overdue by 4 工作时 → Mon 09:00–12:00 and 13:30–14:30: the township.
    assert sweep(at(2026, 11, 30, 14, 29), django_capture_on_commit_callbacks).escalated == 0
    top = sweep(at(2026, 11, 30, 14, 30), django_capture_on_commit_callbacks)
    sweep(at(2026, 12, 9, 9, 0), django_capture_on_commit_callbacks)
    assert top.escalated == 1
    assert calls["escalate"] == [[(clock.pk, 1, "community")], [(clock.pk, 2, "township")]]
    clock.refresh_from_db()
    assert (clock.level, clock.rung, clock.next_escalate_at) == ("red", 2, None)


def test_a_late_sweep_climbs_one_rung_at_a_time(calls, django_capture_on_commit_callbacks):
    clock = start(ladder=LADDER)
    late = at(2026, 12, 9, 9, 0)
    assert sweep(late, django_capture_on_commit_callbacks).escalated == 1
    assert sweep(late, django_capture_on_commit_callbacks).escalated == 1
    assert sweep(late, django_capture_on_commit_callbacks).escalated == 0
    assert [call[0][1] for call in calls["escalate"]] == [1, 2]
    assert Deadline.objects.get(pk=clock.pk).escalation_level == "township"


def test_met_cancelled_and_paused_clocks_are_not_swept(
    calls, persona, django_capture_on_commit_callbacks
):
    met = start(subject=("tests.item", 1), ladder=LADDER)
    cancelled = start(subject=("tests.item", 2), ladder=LADDER)
    paused = start(subject=("tests.item", 3), ladder=LADDER)
    with time_machine.travel(at(2026, 11, 26, 10, 0), tick=False):
        met = deadline_meet(deadline=met)
        cancelled = deadline_cancel(deadline=cancelled, actor=persona("community"), reason="撤回")
        paused = deadline_pause(deadline=paused)
    result = sweep(at(2026, 12, 9, 9, 0), django_capture_on_commit_callbacks)
    assert (result.yellow, result.red, result.escalated) == (0, 0, 0)
    assert calls == {"level": [], "escalate": []}
    assert met.met_late is False and met.next_escalate_at is None
    assert cancelled.state == DeadlineState.CANCELLED
    assert AuditEvent.objects.filter(action="core.deadline_cancel", reason="撤回").exists()
    assert not deadlines_overdue(now=at(2026, 12, 9, 9, 0)).exists()
    assert paused.state == DeadlineState.PAUSED


def test_a_clock_paused_while_overdue_stays_overdue_and_is_not_reported_again(
    calls, django_capture_on_commit_callbacks
):
    clock = start(amount=2, unit=LimitUnit.WORK_HOURS, ladder=LADDER[1:])  # Thu 09:00 → 11:00
    sweep(at(2026, 11, 26, 11, 0), django_capture_on_commit_callbacks)
    with time_machine.travel(at(2026, 11, 26, 11, 15), tick=False):
        clock = deadline_pause(deadline=clock)
    with time_machine.travel(at(2026, 11, 27, 9, 0), tick=False):  # Thu 11:15 → Fri 09:00
        clock = deadline_resume(deadline=clock)
    # Paused 0.75 h + 4 h + 0.5 h = 5.25 working hours: due Thu 11:00 + 5.25 h = Fri 08:45,
    # still 15 minutes overdue; the township rung (4 工作时 overdue) moves with it.
    assert local(clock.due_at) == dt.datetime(2026, 11, 27, 8, 45)
    assert local(clock.next_escalate_at) == dt.datetime(2026, 11, 27, 14, 15)
    assert clock.level == "red" and clock.paused_seconds == 5.25 * 3600
    sweep(at(2026, 11, 27, 9, 1), django_capture_on_commit_callbacks)
    assert calls["level"] == [[(clock.pk, "red")]]
    assert calls["escalate"] == []


def test_meeting_a_paused_clock_counts_the_pause(calls):
    clock = start()  # due Mon 30 Nov 09:00
    with time_machine.travel(at(2026, 11, 27, 10, 0), tick=False):
        deadline_pause(deadline=clock)
    with time_machine.travel(at(2026, 11, 30, 10, 0), tick=False):  # Monday, a working day
        clock = deadline_meet(deadline=clock)
    assert clock.state == DeadlineState.MET and clock.paused_at is None
    assert clock.met_late is False  # the pause (7.5 h) moved the due time to Tue 09:00


def test_lists_by_place_and_kind(calls, django_capture_on_commit_callbacks):
    other_grid = "321181002001001"
    here = start(subject=("tests.item", 1))
    start(subject=("tests.item", 2), region_code=other_grid)
    moment = at(2026, 12, 9, 9, 0)
    sweep(moment, django_capture_on_commit_callbacks)
    assert deadlines_overdue(now=moment).count() == 2
    assert [d.pk for d in deadlines_overdue(region_prefix=GRID[:12], now=moment)] == [here.pk]
    assert not deadlines_overdue(kind="tests.other", now=moment).exists()
    assert [d.pk for d in deadlines_at_level("red", region_prefix=GRID)] == [here.pk]
    with pytest.raises(InvalidInput):
        deadlines_at_level("purple")


def test_deadline_for_finds_the_open_clock_then_the_last_one(calls, persona):
    resident = persona("resident")
    assert deadline_for(resident, KIND) is None
    first = start(subject=resident)
    assert deadline_for(resident, KIND) == first
    assert deadline_for((resident._meta.label_lower, resident.pk), KIND) == first
    deadline_meet(deadline=first)
    second = start(subject=resident, now=at(2026, 11, 27, 9, 0))
    assert deadline_for(resident, KIND) == second
    deadline_cancel(deadline=second)
    assert deadline_for(resident, KIND) == second  # the latest one


# The one sweep job -----------------------------------------------------------------------------


def test_participants_run_in_the_one_sweep_and_a_failure_does_not_stop_the_others(
    calls, django_capture_on_commit_callbacks
):
    ran = []

    def broken(*, now):
        raise RuntimeError("participant down")

    deadlines.register_participant("tests.broken", broken)
    deadlines.register_participant("tests.ok", lambda *, now: ran.append(now) or {"n": 1})
    clock = start()
    moment = at(2026, 12, 9, 9, 0)
    try:
        with pytest.raises(RuntimeError, match="participant down"):
            sweep(moment, django_capture_on_commit_callbacks)
    finally:
        deadlines.unregister_participant("tests.broken")
        deadlines.unregister_participant("tests.ok")
    assert ran == [moment]
    assert Deadline.objects.get(pk=clock.pk).level == "red"  # the rows were swept anyway
    assert "cases.sla" in deadlines.participants()


def test_the_periodic_job_sweeps_the_rows(calls, django_capture_on_commit_callbacks):
    from shequ.core import schedule

    job = {j.name: j for j in schedule.jobs()}["core.deadlines_sweep"]
    clock = start(now=timezone.now() - dt.timedelta(days=30))
    with django_capture_on_commit_callbacks(execute=True):
        result = job.task.enqueue().return_value
    assert result["red"] == 1 and "cases.sla" in result["participants"]
    assert Deadline.objects.get(pk=clock.pk).level == "red"


def test_a_kind_label_and_its_registration_rules(calls):
    assert deadlines.kind_label(KIND) == "测试跟进"
    assert deadlines.kind_label("tests.unknown") == "tests.unknown"
    with pytest.raises(ValueError):
        deadlines.register_kind("nodot", label="x")


def test_a_failing_callback_does_not_undo_the_sweep(django_capture_on_commit_callbacks, caplog):
    def broken(rows):
        raise RuntimeError("callback down")

    deadlines.register_kind(KIND, label="测试跟进", on_level=broken)
    try:
        clock = start()
        result = sweep(at(2026, 12, 9, 9, 0), django_capture_on_commit_callbacks)
    finally:
        deadlines.unregister_kind(KIND)
    assert result.red == 1 and Deadline.objects.get(pk=clock.pk).level == "red"
    assert "callback down" in caplog.text
