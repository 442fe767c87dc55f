"""Closing the loop with the resident (issue 21.3): closure, void, merge and return tell the
reporter what was done (with the after-photo) on the app and the residents' channel; the
rating is asked for and reminded after 3 days; hotline cases go on the community's 回访 list;
the share of closed cases rated is an indicator."""

import datetime as dt

import pytest
from django.utils import timezone

from shequ.cases import services
from shequ.cases.services.feedback import RATING_REMINDER_KIND, cases_remind_unrated
from shequ.cases.workflow import Channel, Satisfaction, Status
from shequ.notifications.models import Delivery, Notification
from tests.support.cases import drive, point_in, report
from tests.support.processes import run_check

pytestmark = pytest.mark.django_db
NOISE = {"times": ["v2"]}  # 噪音扰民 (0904): waits for 立案


@pytest.fixture
def closed_case(persona, world, categories, django_capture_on_commit_callbacks):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    with django_capture_on_commit_callbacks(execute=True):
        case = drive(case, Status.CLOSED, persona)
    return case


def test_closure_tells_the_reporter_what_was_done_with_the_after_photo(persona, closed_case):
    note = Notification.objects.get(recipient=persona("resident"), kind="case_closed")
    assert "已清理完毕" in note.body  # the handler's words (drive() handles with this note)
    assert "满意、基本满意或不满意" in note.body and "重新办理" in note.body
    assert note.image_url.startswith("/cases/photos/") and note.image_url.endswith("/thumb/")
    assert note.url == f"/cases/{closed_case.pk}/"
    assert Delivery.objects.filter(notification=note, channel="sms").exists()


def test_notification_page_shows_photo_and_rating_button(client_as, closed_case):
    client = client_as("resident")
    html = client.get("/notifications/").content.decode()
    note = Notification.objects.get(kind="case_closed", object_id=str(closed_case.pk))
    assert f'src="{note.image_url}"' in html
    assert f'name="next" value="/cases/{closed_case.pk}/#form-rate"' in html
    opened = client.post(
        f"/notifications/{note.pk}/read/", {"next": f"/cases/{closed_case.pk}/#form-rate"}
    )
    assert opened.status_code == 302 and opened["Location"].endswith("#form-rate")
    note.refresh_from_db()
    assert note.is_read
    assert client.get(note.image_url).status_code == 200  # the reporter may see the photo
    detail = client.get(f"/cases/{closed_case.pk}/").content.decode()
    assert 'id="form-rate"' in detail


def test_resident_channels_setting(
    settings,
    persona,
    world,
    categories,
    django_capture_on_commit_callbacks,
):
    settings.SHEQU_RESIDENT_CHANNELS = ("wechat",)
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    with django_capture_on_commit_callbacks(execute=True):
        drive(case, Status.CLOSED, persona)
    note = Notification.objects.get(kind="case_closed", object_id=str(case.pk))
    assert list(note.deliveries.values_list("channel", flat=True)) == ["wechat"]


@pytest.mark.parametrize("to", [Status.VOIDED, Status.MERGED])
def test_void_and_merge_tell_the_reporter(
    to,
    persona,
    world,
    categories,
    django_capture_on_commit_callbacks,
):
    # 0904 (noise) waits for 立案, so it can still be voided or merged.
    case = report(persona("resident"), "0904", grid=world["grid_a"], attributes=NOISE, photos=[])
    with django_capture_on_commit_callbacks(execute=True):
        drive(case, to, persona)
    kind = {"voided": "case_voided", "merged": "case_merged"}[to]
    note = Notification.objects.get(recipient=persona("resident"), kind=kind)
    assert note.body  # says why / into which case
    assert note.deliveries.filter(channel="sms").exists()


def test_return_tells_the_reporter(
    persona,
    world,
    categories,
    django_capture_on_commit_callbacks,
):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    case = drive(case, Status.DISPATCHED, persona)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_return(case=case, actor=persona("grid"), reason="不属于网格职责")
    assert Notification.objects.filter(
        recipient=persona("resident"), kind="case_returned_reporter"
    ).exists()


def test_rolled_back_closure_sends_nothing(persona, world, categories):
    case = drive(report(persona("resident"), "0101", grid=world["grid_a"]), Status.HANDLED, persona)
    # Without on-commit callbacks executing (the test transaction never commits) nothing goes.
    services.case_verify(case=case, actor=persona("community"))
    assert not Notification.objects.filter(kind="case_closed").exists()


def test_rating_reminder_after_three_days_once(persona, closed_case, time_machine):
    time_machine.move_to(closed_case.closed_at + dt.timedelta(days=2, hours=23), tick=False)
    assert cases_remind_unrated() == 0
    time_machine.move_to(closed_case.closed_at + dt.timedelta(days=3, minutes=1), tick=False)
    assert cases_remind_unrated() == 1
    assert cases_remind_unrated() == 0  # the hourly job again: no second reminder
    note = Notification.objects.get(kind=RATING_REMINDER_KIND)
    assert note.recipient == persona("resident") and note.url == f"/cases/{closed_case.pk}/"
    assert note.deliveries.filter(channel="sms").exists()


def test_no_reminder_when_rated(persona, closed_case, time_machine):
    services.case_rate(case=closed_case, actor=persona("resident"), rating="satisfied")
    time_machine.move_to(closed_case.closed_at + dt.timedelta(days=4), tick=False)
    assert cases_remind_unrated() == 0


def test_rating_reminder_is_a_periodic_job():
    from shequ.cases.tasks import rating_reminder_task
    from shequ.core import schedule

    job = {j.name: j for j in schedule.jobs()}["cases.rating_reminder"]
    assert job.task is rating_reminder_task and job.every == dt.timedelta(hours=1)


def test_rating_reopens_when_not_fixed(client_as, persona, closed_case):
    response = client_as("resident").post(
        f"/cases/{closed_case.pk}/act/rate/",
        {"rating": "unsatisfied", "reopen": "1", "comment": "垃圾又堆起来了"},
    )
    assert response.status_code == 302
    closed_case.refresh_from_db()
    assert closed_case.status == Status.DISPATCHED and closed_case.reopen_count == 1


def _hotline_case(persona, world):
    lat, lng = point_in(world["grid_a"])
    case = services.case_report(
        actor=persona("community"),
        channel=Channel.HOTLINE,
        source_ref=f"GD{timezone.now():%H%M%S%f}",
        category="0101",
        description="来电反映垃圾",
        attributes={"amount": "v2"},
        lat=lat,
        lng=lng,
        contact_name="李先生",
        contact_phone="13812345678",
    )
    return drive(case, Status.CLOSED, persona)


def test_hotline_cases_are_on_the_visit_list_until_visited(client_as, persona, world, categories):
    case = _hotline_case(persona, world)
    client = client_as("community")
    assert case.code in client.get("/cases/visits/").content.decode()
    assert client_as("grid2").get("/cases/visits/").status_code == 404  # grid workers: no list
    services.case_visit(case=case, actor=persona("community"), rating=Satisfaction.BASIC)
    assert case.code not in client.get("/cases/visits/").content.decode()


def test_visit_list_is_scoped(client_as, persona, world, categories):
    from django.test import Client

    from shequ.accounts.second_factor import CHECKED
    from shequ.accounts.services import assignment_grant, user_create
    from shequ.geo.models import Region

    case = _hotline_case(persona, world)
    elsewhere = (
        Region.objects.filter(level="community")
        .exclude(code=world["community"])
        .order_by("code")
        .first()
    )
    other = user_create(username="staff-elsewhere", password=None, full_name="外社区")
    assignment_grant(user=other, role="community_staff", region=elsewhere)
    client = Client()
    client.force_login(other)
    session = client.session
    session[CHECKED] = "password"
    session.save()
    response = client.get("/cases/visits/")
    assert response.status_code == 200 and case.code not in response.content.decode()


def test_rated_share_indicator(persona, world, closed_case):
    from shequ.analytics.definitions import BY_KEY
    from shequ.cases.indicators import indicators

    today = timezone.localdate()
    before = indicators(region=world["community"], start=today, end=today)
    assert before.closed >= 1
    services.case_rate(case=closed_case, actor=persona("resident"), rating=Satisfaction.BASIC)
    after = indicators(region=world["community"], start=today, end=today)
    assert after.rated == before.rated + 1
    assert after.rated_share == pytest.approx(after.rated / after.closed)
    assert "结案数" in str(BY_KEY["rated_share"].formula)
    empty = indicators(region=world["other_township"], start=today, end=today)
    assert empty.closed == 0 and empty.rated_share is None


def test_bad_resident_channels_stop_startup(tmp_path):
    result = run_check(tmp_path, SHEQU_RESIDENT_CHANNELS="sms,pigeon")
    assert result.returncode != 0 and "SHEQU_RESIDENT_CHANNELS" in result.stderr
    assert run_check(tmp_path, SHEQU_RESIDENT_CHANNELS="").returncode == 0


def test_visit_list_query_count(
    client_as,
    persona,
    world,
    categories,
    django_assert_max_num_queries,
):
    for _n in range(3):
        _hotline_case(persona, world)
    client = client_as("community")
    client.get("/cases/visits/")  # warm the per-process caches (calendar, nav)
    with django_assert_max_num_queries(12):
        response = client.get("/cases/visits/")
    assert response.content.decode().count("data-case-code=") >= 3
