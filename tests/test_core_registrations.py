"""core.registrations: capacity, the waitlist and its order, auto-promotion on cancel and on a
raised capacity, one active registration per person (service and database), full and closed,
the promotion hook, audit rows — and two threads racing for the last place on PostgreSQL."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from shequ.accounts.models import User
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError, ServiceError
from shequ.core.models import AuditEvent, Registration, RegistrationStatus, Roster
from shequ.core.registrations import (
    promotion_hook_register,
    promotion_hook_unregister,
    registration_cancel,
    registration_create,
    registration_mark_attended,
    roster_for,
    roster_open,
    roster_set_capacity,
)
from shequ.geo.models import Region

S = RegistrationStatus


@pytest.fixture
def subject(world):
    """Any saved model instance can be a subject; a grid stands in for a meeting here."""
    return Region.objects.get(code=world["grid_a"])


@pytest.fixture
def people(db):
    return [
        User.objects.create_user(username=f"reg-user-{i}", password="x", full_name=f"居民{i}")
        for i in range(6)
    ]


@pytest.fixture
def staff(persona):
    return persona("community")


def statuses(roster) -> dict[str, str]:
    rows = Registration.objects.filter(roster=roster).exclude(status=S.CANCELLED)
    return {r.user.username: r.status for r in rows.select_related("user")}


@pytest.mark.django_db
class TestCapacityAndWaitlist:
    def test_open_once_per_subject(self, subject, staff):
        roster = roster_open(actor=staff, subject=subject, capacity=2)
        assert roster_for(subject) == roster and roster.region_code == subject.code
        with pytest.raises(ConflictError) as error:
            roster_open(actor=staff, subject=subject, capacity=3)
        assert error.value.code == "roster_exists"

    @pytest.mark.parametrize("capacity", [-1, "x", None, 100_001])
    def test_bad_capacity_is_refused(self, subject, staff, capacity):
        with pytest.raises(InvalidInput) as error:
            roster_open(actor=staff, subject=subject, capacity=capacity)
        assert error.value.code == "invalid_capacity"

    def test_registered_up_to_capacity_then_waitlisted_in_order(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=2)
        made = [registration_create(actor=user, roster=roster) for user in people[:5]]
        assert [r.status for r in made] == [S.REGISTERED] * 2 + [S.WAITLISTED] * 3
        assert [r.position for r in made[2:]] == [1, 2, 3]
        roster.refresh_from_db()
        assert roster.registered_count == 2 and roster.places_left == 0

    def test_full_without_a_waitlist(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=1, waitlist=False)
        registration_create(actor=people[0], roster=roster)
        with pytest.raises(ConflictError) as error:
            registration_create(actor=people[1], roster=roster)
        assert error.value.code == "full"
        assert Registration.objects.filter(roster=roster).count() == 1

    def test_an_anonymous_visitor_cannot_register(self, subject, staff):
        roster = roster_open(actor=staff, subject=subject, capacity=1)
        with pytest.raises(PermissionDeniedError) as error:
            registration_create(actor=AnonymousUser(), roster=roster)
        assert error.value.code == "login_required"

    def test_zero_capacity_is_a_waitlist_only_roster(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=0)
        assert registration_create(actor=people[0], roster=roster).status == S.WAITLISTED

    def test_closed_window(self, subject, staff, people):
        now = timezone.now()
        roster = roster_open(
            actor=staff,
            subject=subject,
            capacity=5,
            opens_at=now + timedelta(hours=1),
            closes_at=now + timedelta(hours=2),
        )
        for moment in (now, now + timedelta(hours=2, seconds=1)):
            with pytest.raises(ConflictError) as error:
                registration_create(actor=people[0], roster=roster, now=moment)
            assert error.value.code == "closed"
        with pytest.raises(ConflictError):  # the default clock: not open yet
            registration_create(actor=people[0], roster=roster)
        ok = registration_create(actor=people[0], roster=roster, now=now + timedelta(hours=1))
        assert ok.status == S.REGISTERED

    def test_window_must_be_ordered(self, subject, staff):
        now = timezone.now()
        with pytest.raises(InvalidInput) as error:
            roster_open(actor=staff, subject=subject, capacity=1, opens_at=now, closes_at=now)
        assert error.value.code == "invalid_window"


@pytest.mark.django_db
class TestOnePerPerson:
    def test_a_second_registration_is_refused_registered_or_waitlisted(
        self, subject, staff, people
    ):
        roster = roster_open(actor=staff, subject=subject, capacity=1)
        registration_create(actor=people[0], roster=roster)
        registration_create(actor=people[1], roster=roster)  # waitlisted
        for user in people[:2]:
            with pytest.raises(ConflictError) as error:
                registration_create(actor=user, roster=roster)
            assert error.value.code == "already_registered"

    def test_after_cancelling_one_may_register_again(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=1)
        first = registration_create(actor=people[0], roster=roster)
        registration_cancel(actor=people[0], registration=first)
        again = registration_create(actor=people[0], roster=roster)
        assert again.pk != first.pk and again.status == S.REGISTERED

    def test_the_database_refuses_two_active_registrations(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=3)
        registration_create(actor=people[0], roster=roster)
        with pytest.raises(IntegrityError), transaction.atomic():
            Registration.objects.create(
                roster=roster, user=people[0], status=S.WAITLISTED, position=9
            )

    def test_the_database_refuses_a_count_above_capacity(self, subject, staff):
        roster = roster_open(actor=staff, subject=subject, capacity=1)
        with pytest.raises(IntegrityError), transaction.atomic():
            Roster.objects.filter(pk=roster.pk).update(registered_count=2)
        with pytest.raises(IntegrityError), transaction.atomic():
            Roster.objects.filter(pk=roster.pk).update(capacity=-1)


@pytest.mark.django_db
class TestPromotion:
    def test_cancel_frees_the_place_for_the_first_waitlisted(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=2)
        made = [registration_create(actor=user, roster=roster) for user in people[:5]]
        cancelled = registration_cancel(actor=people[0], registration=made[0])
        assert cancelled.status == S.CANCELLED and cancelled.cancelled_at is not None
        assert statuses(roster) == {
            "reg-user-1": S.REGISTERED,
            "reg-user-2": S.REGISTERED,  # first in the queue
            "reg-user-3": S.WAITLISTED,
            "reg-user-4": S.WAITLISTED,
        }
        made[2].refresh_from_db()
        assert made[2].promoted_at is not None
        roster.refresh_from_db()
        assert roster.registered_count == 2

    def test_a_waitlisted_person_leaving_keeps_the_order_and_the_count(
        self, subject, staff, people
    ):
        roster = roster_open(actor=staff, subject=subject, capacity=1)
        made = [registration_create(actor=user, roster=roster) for user in people[:4]]
        registration_cancel(actor=people[1], registration=made[1])  # first in the queue leaves
        registration_cancel(actor=people[0], registration=made[0])
        assert statuses(roster) == {"reg-user-2": S.REGISTERED, "reg-user-3": S.WAITLISTED}
        roster.refresh_from_db()
        assert roster.registered_count == 1

    def test_a_late_comer_queues_behind_everyone_even_after_promotions(
        self, subject, staff, people
    ):
        roster = roster_open(actor=staff, subject=subject, capacity=1)
        made = [registration_create(actor=user, roster=roster) for user in people[:3]]
        registration_cancel(actor=people[0], registration=made[0])  # user 1 promoted
        late = registration_create(actor=people[3], roster=roster)
        assert late.position > made[2].position

    def test_raising_the_capacity_promotes_in_order_and_is_audited(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=1)
        for user in people[:5]:
            registration_create(actor=user, roster=roster)
        roster = roster_set_capacity(actor=staff, roster=roster, capacity=3, reason="换了大会议室")
        assert roster.capacity == 3 and roster.registered_count == 3
        assert statuses(roster) == {
            "reg-user-0": S.REGISTERED,
            "reg-user-1": S.REGISTERED,
            "reg-user-2": S.REGISTERED,
            "reg-user-3": S.WAITLISTED,
            "reg-user-4": S.WAITLISTED,
        }
        event = AuditEvent.objects.get(action="core.roster_set_capacity")
        assert event.details == {"from": 1, "to": 3, "promoted": 2}
        assert event.reason == "换了大会议室" and event.actor == staff

    def test_lowering_below_the_registered_count_is_refused(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=3)
        for user in people[:2]:
            registration_create(actor=user, roster=roster)
        with pytest.raises(InvalidInput) as error:
            roster_set_capacity(actor=staff, roster=roster, capacity=1)
        assert error.value.code == "capacity_below_registered"
        assert "2人" in error.value.message
        assert roster_set_capacity(actor=staff, roster=roster, capacity=2).capacity == 2

    def test_the_hook_is_told_after_commit_for_its_subject_type_only(
        self, subject, staff, people, django_capture_on_commit_callbacks
    ):
        told, other = [], []
        promotion_hook_register("geo.region", told.append)
        promotion_hook_register("party.meeting", other.append)
        try:
            roster = roster_open(actor=staff, subject=subject, capacity=1)
            first = registration_create(actor=people[0], roster=roster)
            waiting = registration_create(actor=people[1], roster=roster)
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                registration_cancel(actor=people[0], registration=first)
            assert told == []  # not before the commit
            for callback in callbacks:
                callback()
            assert [r.pk for r in told] == [waiting.pk] and told[0].status == S.REGISTERED
            assert other == []
        finally:
            promotion_hook_unregister("geo.region", told.append)
            promotion_hook_unregister("party.meeting", other.append)

    def test_a_failing_hook_does_not_undo_the_promotion(
        self, subject, staff, people, django_capture_on_commit_callbacks
    ):
        def broken(registration):
            raise RuntimeError("SMS gateway down")

        promotion_hook_register("geo.region", broken)
        try:
            roster = roster_open(actor=staff, subject=subject, capacity=1)
            first = registration_create(actor=people[0], roster=roster)
            waiting = registration_create(actor=people[1], roster=roster)
            with django_capture_on_commit_callbacks(execute=True):
                registration_cancel(actor=people[0], registration=first)
        finally:
            promotion_hook_unregister("geo.region", broken)
        waiting.refresh_from_db()
        assert waiting.status == S.REGISTERED


@pytest.mark.django_db
class TestCancelAndAttendance:
    def test_only_ones_own_unless_staff_and_staff_is_audited(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=2)
        mine = registration_create(actor=people[0], roster=roster)
        with pytest.raises(PermissionDeniedError) as error:
            registration_cancel(actor=people[1], registration=mine)
        assert error.value.code == "not_your_registration"
        registration_cancel(actor=staff, registration=mine, by_staff=True, reason="重复报名")
        event = AuditEvent.objects.get(action="core.registration_cancel_by_staff")
        assert event.details["user"] == people[0].pk and event.reason == "重复报名"
        assert not AuditEvent.objects.filter(action="core.roster_set_capacity").exists()

    def test_cancelling_twice_is_refused(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=2)
        mine = registration_create(actor=people[0], roster=roster)
        registration_cancel(actor=people[0], registration=mine)
        with pytest.raises(ConflictError) as error:
            registration_cancel(actor=people[0], registration=mine)
        assert error.value.code == "not_active"
        roster.refresh_from_db()
        assert roster.registered_count == 0

    def test_mark_attended_and_no_show_keep_the_place(self, subject, staff, people):
        roster = roster_open(actor=staff, subject=subject, capacity=2)
        came = registration_create(actor=people[0], roster=roster)
        absent = registration_create(actor=people[1], roster=roster)
        waiting = registration_create(actor=people[2], roster=roster)
        assert registration_mark_attended(actor=staff, registration=came).status == S.ATTENDED
        absent = registration_mark_attended(actor=staff, registration=absent, attended=False)
        assert absent.status == S.NO_SHOW and absent.marked_at is not None
        with pytest.raises(ConflictError) as error:
            registration_mark_attended(actor=staff, registration=waiting)
        assert error.value.code == "not_registered"
        with pytest.raises(ConflictError):  # an attended registration is no longer cancellable
            registration_cancel(actor=people[0], registration=came)
        roster.refresh_from_db()
        assert roster.registered_count == 2
        assert AuditEvent.objects.filter(action="core.registration_mark_attended").count() == 2


# Concurrency ------------------------------------------------------------------------------------

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL"
)


def race(actions) -> list[str]:
    """Run the actions in threads started at once (a barrier); their outcomes ("ok" or a code)."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(action) -> None:
        try:
            barrier.wait()
            action()
            result = "ok"
        except ServiceError as error:
            result = error.code
        except Exception as error:
            result = f"unexpected: {error!r}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@on_postgres
class TestConcurrency:
    """Real threads; `reseed_after_flush` before `transactional_db` (see test_points_concurrency)."""

    def test_two_threads_for_the_last_place_exactly_one_registered(
        self, reseed_after_flush, transactional_db, world
    ):
        subject = Region.objects.get(code=world["grid_a"])
        staff = User.objects.get(username="community")
        users = [User.objects.create_user(username=f"race-{i}", password="x") for i in range(3)]
        roster = roster_open(actor=staff, subject=subject, capacity=2, waitlist=False)
        registration_create(actor=users[0], roster=roster)
        outcomes = race(
            [lambda u=u: registration_create(actor=u, roster=roster) for u in users[1:]]
        )
        assert outcomes == ["full", "ok"]
        roster.refresh_from_db()
        assert roster.registered_count == 2
        assert Registration.objects.filter(roster=roster, status=S.REGISTERED).count() == 2

    def test_two_cancels_promote_two_distinct_people_in_order(
        self, reseed_after_flush, transactional_db, world
    ):
        subject = Region.objects.get(code=world["grid_a"])
        staff = User.objects.get(username="community")
        users = [User.objects.create_user(username=f"race-{i}", password="x") for i in range(5)]
        roster = roster_open(actor=staff, subject=subject, capacity=2)
        made = [registration_create(actor=u, roster=roster) for u in users]
        outcomes = race(
            [lambda r=r: registration_cancel(actor=r.user, registration=r) for r in made[:2]]
        )
        assert outcomes == ["ok", "ok"]
        roster.refresh_from_db()
        assert roster.registered_count == 2
        registered = Registration.objects.filter(roster=roster, status=S.REGISTERED)
        assert sorted(registered.values_list("user__username", flat=True)) == ["race-2", "race-3"]

    def test_one_person_twice_at_once_gets_one_registration(
        self, reseed_after_flush, transactional_db, world
    ):
        subject = Region.objects.get(code=world["grid_a"])
        staff = User.objects.get(username="community")
        user = User.objects.create_user(username="race-twice", password="x")
        roster = roster_open(actor=staff, subject=subject, capacity=5)
        outcomes = race([lambda: registration_create(actor=user, roster=roster)] * 2)
        assert outcomes == ["already_registered", "ok"]
        assert Registration.objects.filter(roster=roster).count() == 1
