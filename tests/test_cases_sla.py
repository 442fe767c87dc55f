"""The SLA sweep: yellow at 80 %, red (督办) when overdue, escalation up the ladder after the
grace, notifications once; the periodic registration and the command."""

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from shequ.cases import services
from shequ.cases.models import Case, CaseEvent
from shequ.cases.sla import sla_sweep
from shequ.cases.workflow import SlaLevel
from shequ.notifications.models import Notification
from tests.support.cases import drive, photo_bytes, report

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]


def at(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


def sweep(moment, capture):
    with time_machine.travel(moment, tick=False), capture(execute=True):
        return sla_sweep()


@pytest.fixture
def road_case(persona, world):
    # 道路不洁 (0102): 5 工作时 from Thu 26 Nov 2026 09:00 → due 15:30, yellow from 14:30,
    # escalation grace 4 工作时 → Fri 10:30 (community), 16:00 (township), Mon 11:00 (city).
    with time_machine.travel(at(2026, 11, 26, 9, 0), tick=False):
        case = report(persona("resident"), "0102", grid=world["grid_a"])
    assert timezone.localtime(case.due_at).time() == dt.time(15, 30)
    return case


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_colours_then_escalates_up_the_ladder(
    road_case, persona, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    grid, community, township, city = (
        persona(n) for n in ("grid", "community", "township", "city")
    )

    assert sweep(at(2026, 11, 26, 14, 0), capture).as_dict()["yellow"] == 0
    result = sweep(at(2026, 11, 26, 14, 31), capture)
    assert result.yellow == 1 and result.red == 0
    road_case.refresh_from_db()
    assert road_case.sla_level == SlaLevel.YELLOW and not road_case.supervised
    assert kinds(grid).count("case_due_soon") == 1

    result = sweep(at(2026, 11, 26, 15, 31), capture)
    assert result.red == 1
    road_case.refresh_from_db()
    assert road_case.sla_level == SlaLevel.RED and road_case.supervised  # 自动督办
    assert CaseEvent.objects.filter(case=road_case, action="sla_red").count() == 1
    assert "case_overdue" in kinds(grid) and "case_overdue" in kinds(community)

    # The same minute again (or a second worker): nothing twice.
    again = sweep(at(2026, 11, 26, 15, 32), capture)
    assert (again.yellow, again.red, again.escalated) == (0, 0, 0)
    assert kinds(grid).count("case_overdue") == 1

    assert sweep(at(2026, 11, 27, 10, 29), capture).escalated == 0
    assert sweep(at(2026, 11, 27, 10, 31), capture).escalated == 1
    road_case.refresh_from_db()
    assert road_case.escalation_level == 1
    assert "case_escalated" in kinds(community)

    assert sweep(at(2026, 11, 27, 15, 59), capture).escalated == 0
    assert sweep(at(2026, 11, 27, 16, 1), capture).escalated == 1
    assert "case_escalated" in kinds(township)
    assert sweep(at(2026, 11, 30, 11, 1), capture).escalated == 1
    assert "case_escalated" in kinds(city)
    road_case.refresh_from_db()
    assert road_case.escalation_level == 3 and road_case.escalate_at is None
    assert sweep(at(2026, 12, 10, 9, 0), capture).escalated == 0  # the top of the ladder
    levels = [e.data["level"] for e in CaseEvent.objects.filter(case=road_case, action="escalate")]
    assert levels == ["community", "township", "city"]


def test_weekend_does_not_count(persona, world, django_capture_on_commit_callbacks):
    # Friday 16:00 + 5 工作时 → Monday 12:00: nothing is overdue over the weekend.
    with time_machine.travel(at(2026, 11, 27, 16, 0), tick=False):
        case = report(persona("resident"), "0102", grid=world["grid_a"])
    result = sweep(at(2026, 11, 29, 20, 0), django_capture_on_commit_callbacks)
    assert result.red == 0 and result.yellow == 0
    assert sweep(at(2026, 11, 30, 12, 1), django_capture_on_commit_callbacks).red == 1
    case.refresh_from_db()
    assert case.sla_level == SlaLevel.RED


def test_handling_stops_the_clock_and_verification_runs_its_own(
    road_case, persona, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(2026, 11, 26, 10, 0), tick=False):
        case = services.case_accept(case=road_case, actor=persona("grid"))
        case = services.case_handle(
            case=case, actor=persona("grid"), note="已清扫", photos=[photo_bytes()]
        )
    assert case.step == "verify"
    # Verification: 1 工作日 → Fri 10:00; nothing is red on Thursday afternoon any more.
    assert sweep(at(2026, 11, 26, 16, 0), django_capture_on_commit_callbacks).red == 0
    assert sweep(at(2026, 11, 27, 10, 1), django_capture_on_commit_callbacks).red == 1


def test_extension_brings_the_colour_back(road_case, persona, django_capture_on_commit_callbacks):
    sweep(at(2026, 11, 26, 14, 31), django_capture_on_commit_callbacks)
    with time_machine.travel(at(2026, 11, 26, 14, 40), tick=False):
        case = Case.objects.get(pk=road_case.pk)
        case = services.case_request_extension(
            case=case, actor=persona("grid"), amount=5, reason="机扫车检修"
        )
        case = services.case_approve_extension(case=case, actor=persona("community"))
    assert case.sla_level == SlaLevel.GREEN
    assert timezone.localtime(case.due_at) == at(2026, 11, 27, 11, 30)  # 15:30 + 2 h + 3 h
    assert sweep(at(2026, 11, 26, 15, 31), django_capture_on_commit_callbacks).red == 0


def test_closed_cases_are_not_swept(road_case, persona, django_capture_on_commit_callbacks):
    drive(Case.objects.get(pk=road_case.pk), "closed", persona)
    result = sweep(at(2026, 12, 20, 9, 0), django_capture_on_commit_callbacks)
    assert (result.yellow, result.red, result.escalated) == (0, 0, 0)


def test_the_sla_sweep_runs_in_the_one_deadline_job(road_case, django_capture_on_commit_callbacks):
    """No job of its own: core's "core.deadlines_sweep" runs it as a participant."""
    from shequ.core import deadlines, schedule

    jobs = {j.name: j for j in schedule.jobs()}
    assert "cases.sla_sweep" not in jobs
    job = jobs["core.deadlines_sweep"]
    assert job.task is deadlines.deadlines_sweep_task and job.every == dt.timedelta(minutes=1)
    assert deadlines.participants()["cases.sla"] is sla_sweep
    moment = at(2026, 11, 26, 15, 31)
    with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
        result = job.task.enqueue()
    assert result.return_value["participants"]["cases.sla"]["red"] == 1
    assert Case.objects.get(pk=road_case.pk).sla_level == SlaLevel.RED


def test_command(road_case):
    out = StringIO()
    call_command("sla_sweep", "--at", "2026-11-26T15:31:00+08:00", stdout=out)
    assert json.loads(out.getvalue())["participants"]["cases.sla"]["red"] == 1


def test_command_refuses_a_bad_time():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("sla_sweep", "--at", "yesterday", stdout=StringIO())


def test_sms_adapter_gets_overdue_notices(
    road_case, persona, django_capture_on_commit_callbacks, caplog
):
    from shequ.notifications.models import Delivery

    with caplog.at_level("INFO", logger="shequ.notifications"):
        sweep(at(2026, 11, 26, 15, 31), django_capture_on_commit_callbacks)
    assert Delivery.objects.filter(channel="sms", status="sent").exists()
    assert "199****0004" in caplog.text and "19900000004" not in caplog.text
