"""Tasks: states, escrow, claims (unique, not one's own), check-in/out, confirmation, honour,
caps and expiry. The ledger invariants are checked after every test."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.models import AuditEvent
from shequ.points import ledger
from shequ.points.choices import ClaimStatus, RecordType, TaskKind, TaskStatus, TransferKind
from shequ.points.models import Claim, PointsRule, Task, Transfer, VolunteerRecord
from shequ.points.services import (
    claim_check,
    claim_confirm,
    claim_grant_honour,
    claim_withdraw,
    help_request_create,
    points_expire,
    task_cancel,
    task_claim,
    task_complete,
    task_create,
    task_publish,
)
from tests.support.factories import give_points, make_person, make_resident_user, window

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exact_ledger")]


def attend(user, task):
    claim_check(actor=user, task=task, code=task.checkin_code)
    return claim_check(actor=user, task=task, code=task.checkout_code)


class TestStates:
    def test_draft_publish_escrows_quota_times_points(self, persona, world, pool):
        start, end = window()
        task = task_create(
            actor=persona("grid"),
            kind=TaskKind.WISH,
            title="为独居老人买药",
            category="care",
            region_code=world["grid_a"],
            starts_at=start,
            ends_at=end,
            quota=2,
            points_per_person=15,
        )
        assert task.status == TaskStatus.DRAFT
        assert not Transfer.objects.filter(kind=TransferKind.ESCROW).exists()
        task_publish(actor=persona("grid"), task=task)
        task.refresh_from_db()
        assert task.status == TaskStatus.PUBLISHED
        assert ledger.escrow_account(task).balance == 30
        pool.refresh_from_db()
        assert pool.balance == 10_000 - 30
        with pytest.raises(ConflictError) as error:
            task_publish(actor=persona("grid"), task=task)
        assert error.value.code == "not_draft"

    def test_full_then_in_progress_then_completed(self, make_task, volunteer, volunteer2, persona):
        task = make_task(quota=2)
        (u1, _p1), (u2, _p2) = volunteer, volunteer2
        task_claim(actor=u1, task=task)
        task_claim(actor=u2, task=task)
        task.refresh_from_db()
        assert task.status == TaskStatus.FULL and task.claims_count == 2
        attend(u1, task)
        task.refresh_from_db()
        assert task.status == TaskStatus.IN_PROGRESS
        claim = Claim.objects.get(task=task, person__user=u1)
        claim_confirm(actor=persona("grid"), claim=claim)
        task_complete(actor=persona("grid"), task=task)
        task.refresh_from_db()
        assert task.status == TaskStatus.COMPLETED
        # u2 never came: 未完成, and their 10 points went back to the pool.
        assert Claim.objects.get(task=task, person__user=u2).status == ClaimStatus.ABSENT
        assert ledger.escrow_account(task).balance == 0
        assert Transfer.objects.get(key=f"task:{task.pk}:return").amount == 10

    def test_cancel_returns_escrow_and_needs_a_reason(self, make_task, volunteer, persona, pool):
        task = make_task(quota=3, points_per_person=20)
        task_claim(actor=volunteer[0], task=task)
        pool.refresh_from_db()
        assert pool.balance == 10_000 - 60
        with pytest.raises(InvalidInput):
            task_cancel(actor=persona("community"), task=task, reason=" ")
        task_cancel(actor=persona("community"), task=task, reason="暴雨取消")
        task.refresh_from_db()
        pool.refresh_from_db()
        assert task.status == TaskStatus.CANCELLED and pool.balance == 10_000
        assert Claim.objects.get(task=task).status == ClaimStatus.TASK_CANCELLED
        assert AuditEvent.objects.filter(action="points.task_cancel", reason="暴雨取消").exists()
        with pytest.raises(ConflictError):
            task_cancel(actor=persona("community"), task=task, reason="again")

    def test_cannot_cancel_after_points_were_credited(self, make_task, volunteer, persona):
        task = make_task()
        task_claim(actor=volunteer[0], task=task)
        attend(volunteer[0], task)
        claim_confirm(actor=persona("grid"), claim=Claim.objects.get(task=task))
        with pytest.raises(ConflictError) as error:
            task_cancel(actor=persona("grid"), task=task, reason="x")
        assert error.value.code == "has_confirmed_claims"

    def test_complete_waits_for_checked_out_claims(self, make_task, volunteer, persona):
        task = make_task()
        task_claim(actor=volunteer[0], task=task)
        attend(volunteer[0], task)
        with pytest.raises(ConflictError) as error:
            task_complete(actor=persona("grid"), task=task)
        assert error.value.code == "pending_confirmation"

    def test_publish_fails_when_the_pool_is_short(self, persona, world):
        start, end = window()
        with pytest.raises(ledger.InsufficientPoints):
            task_create(
                actor=persona("community"),
                kind=TaskKind.VOLUNTEER,
                title="x",
                category="other",
                region_code=world["grid_a"],
                starts_at=start,
                ends_at=end,
                quota=2,
                points_per_person=10,
                publish=True,
            )
        assert not Task.objects.exists()  # nothing half-written

    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("points_per_person", 0, "invalid_amount"),
            ("points_per_person", -5, "invalid_amount"),
            ("points_per_person", 2.5, "invalid_amount"),
            ("points_per_person", 51, "over_task_cap"),
            ("quota", 0, "invalid_amount"),
            ("quota", 501, "invalid_quota"),
            ("hours_per_person", "25", "invalid_hours"),
            ("hours_per_person", "1.3", "invalid_hours"),
            ("title", "", "required"),
            ("category", "nope", "invalid_category"),
            ("region_code", "321181001", "invalid_region"),
        ],
    )
    def test_bad_task_input(self, make_task, field, value, code):
        with pytest.raises(InvalidInput) as error:
            make_task(**{field: value})
        assert error.value.code == code
        assert not Task.objects.exists()

    def test_window_must_be_ordered_and_in_the_future(self, make_task):
        now = timezone.now()
        with pytest.raises(InvalidInput):
            make_task(starts_at=now, ends_at=now - timedelta(hours=1))
        with pytest.raises(InvalidInput):
            make_task(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))

    def test_grid_worker_publishes_only_in_their_grid(self, make_task, persona, world):
        with pytest.raises(PermissionDeniedError):
            make_task(actor=persona("grid2"), region_code=world["grid_a"])
        make_task(actor=persona("grid2"), region_code=world["grid_b"])


class TestClaims:
    def test_claim_is_unique_per_task_and_person(self, make_task, volunteer):
        task = make_task()
        user, person = volunteer
        task_claim(actor=user, task=task)
        with pytest.raises(ConflictError) as error:
            task_claim(actor=user, task=task)
        assert error.value.code == "already_claimed"
        with pytest.raises(IntegrityError), transaction.atomic():
            Claim.objects.create(task=task, person=person, region_code=person.region_code)

    def test_full_task_refuses_claims(self, make_task, volunteer, volunteer2):
        task = make_task(quota=1)
        task_claim(actor=volunteer[0], task=task)
        with pytest.raises(ConflictError) as error:
            task_claim(actor=volunteer2[0], task=task)
        assert error.value.code == "task_full"

    def test_closed_and_draft_tasks_refuse_claims(self, make_task, volunteer, persona):
        draft = make_task(publish=False)
        with pytest.raises(ConflictError) as error:
            task_claim(actor=volunteer[0], task=draft)
        assert error.value.code == "task_closed"
        task = make_task()
        task_cancel(actor=persona("community"), task=task, reason="取消")
        task.refresh_from_db()
        with pytest.raises(ConflictError):
            task_claim(actor=volunteer[0], task=task)

    def test_nobody_claims_their_own_help_request(self, resident):
        user, person = resident
        give_points(person, 100)
        start, end = window()
        task = help_request_create(
            actor=user, title="帮忙换灯泡", starts_at=start, ends_at=end, points=10, hours="1"
        )
        with pytest.raises(ConflictError) as error:
            task_claim(actor=user, task=task)
        assert error.value.code == "own_task"
        # The database refuses it too.
        with pytest.raises(IntegrityError), transaction.atomic():
            Claim.objects.create(
                task=task, person=person, beneficiary=person, region_code=person.region_code
            )

    def test_staff_cannot_claim_the_task_they_published(self, make_task, persona, world):
        make_person(grid_code=world["grid_a"], user=persona("grid"), name="张网格")
        task = make_task(actor=persona("grid"))
        with pytest.raises(ConflictError) as error:
            task_claim(actor=persona("grid"), task=task)
        assert error.value.code == "own_task"

    def test_user_without_resident_record(self, make_task, persona):
        task = make_task()
        with pytest.raises(Exception) as error:
            task_claim(actor=persona("grid2"), task=task)
        assert getattr(error.value, "code", "") == "no_resident_record"

    def test_withdraw_reopens_a_full_task(self, make_task, volunteer, volunteer2):
        task = make_task(quota=1)
        claim = task_claim(actor=volunteer[0], task=task)
        claim_withdraw(actor=volunteer[0], claim=claim)
        task.refresh_from_db()
        assert task.status == TaskStatus.PUBLISHED and task.claims_count == 0
        task_claim(actor=volunteer2[0], task=task)
        # and the first volunteer may not come back over the quota
        with pytest.raises(ConflictError):
            task_claim(actor=volunteer[0], task=task)

    def test_other_community_cannot_claim(self, make_task):
        from shequ.geo.models import Region

        other = (
            Region.objects.filter(level="grid")
            .exclude(code__startswith=make_task().region_code[:12])
            .first()
        )
        user, _person = make_resident_user("faraway", other.code)
        with pytest.raises(ConflictError) as error:
            task_claim(actor=user, task=make_task())
        assert error.value.code == "other_community"


class TestCheckInAndConfirmation:
    def test_staff_confirm_needs_verified_check_in_and_out(self, make_task, volunteer, persona):
        task = make_task()
        user, person = volunteer
        claim = task_claim(actor=user, task=task)
        with pytest.raises(ConflictError) as error:
            claim_confirm(actor=persona("grid"), claim=claim)
        assert error.value.code == "not_verified"
        claim_check(actor=user, task=task, code=task.checkin_code)
        claim.refresh_from_db()
        with pytest.raises(ConflictError):
            claim_confirm(actor=persona("grid"), claim=claim)
        claim = claim_check(actor=user, task=task, code=task.checkout_code)
        assert claim.status == ClaimStatus.CHECKED_OUT
        assert ledger.resident_account(person).balance == 0  # credited on confirmation only
        claim = claim_confirm(actor=persona("grid"), claim=claim)
        assert claim.status == ClaimStatus.CONFIRMED and claim.record_type == RecordType.CREDIT
        assert ledger.resident_account(person).balance == 10
        record = VolunteerRecord.objects.get(claim=claim)
        # checked out seconds after checking in: the minimum, not the task's 2 hours (21.6)
        assert record.hours == Decimal("0.5") and record.recorded_by == persona("grid")

    def test_double_confirmation_credits_once(self, make_task, volunteer, persona):
        task = make_task()
        user, person = volunteer
        task_claim(actor=user, task=task)
        claim = attend(user, task)
        claim_confirm(actor=persona("grid"), claim=claim)
        for actor in (persona("grid"), persona("community")):
            with pytest.raises(ConflictError) as error:
                claim_confirm(actor=actor, claim=Claim.objects.get(pk=claim.pk))
            assert error.value.code == "already_confirmed"
        # even a stale object that still says "checked out" cannot credit twice
        with pytest.raises(ConflictError):
            claim_confirm(actor=persona("grid"), claim=claim)
        assert ledger.resident_account(person).balance == 10
        assert Transfer.objects.filter(kind=TransferKind.REWARD).count() == 1

    def test_wrong_codes_are_counted_and_lock_out(self, make_task, volunteer):
        task = make_task()
        user, _person = volunteer
        claim = task_claim(actor=user, task=task)
        wrong = "000000" if task.checkin_code != "000000" else "111111"
        for _ in range(5):
            with pytest.raises(InvalidInput) as error:
                claim_check(actor=user, task=task, code=wrong)
            assert error.value.code == "wrong_code"
        with pytest.raises(ConflictError) as error:
            claim_check(actor=user, task=task, code=task.checkin_code)
        assert error.value.code == "too_many_code_failures"
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.CLAIMED

    def test_checkout_code_is_not_the_checkin_code(self, make_task, volunteer):
        task = make_task()
        user, _person = volunteer
        task_claim(actor=user, task=task)
        with pytest.raises(InvalidInput):
            claim_check(actor=user, task=task, code=task.checkout_code)
        claim = claim_check(actor=user, task=task, code=task.checkin_code)
        assert claim.status == ClaimStatus.CHECKED_IN

    def test_check_in_outside_the_window(self, make_task, volunteer):
        task = make_task(
            starts_at=timezone.now() + timedelta(hours=5),
            ends_at=timezone.now() + timedelta(hours=8),
        )
        user, _person = volunteer
        task_claim(actor=user, task=task)
        with pytest.raises(ConflictError) as error:
            claim_check(actor=user, task=task, code=task.checkin_code)
        assert error.value.code == "outside_window"

    def test_beneficiary_confirms_a_help_request_escrowed_from_their_balance(
        self, resident, volunteer, persona
    ):
        user, person = resident
        give_points(person, 100)
        start, end = window()
        task = help_request_create(
            actor=user, title="陪同就医", starts_at=start, ends_at=end, points=20, hours="2"
        )
        assert ledger.resident_account(person).balance == 80
        assert ledger.escrow_account(task).balance == 20
        helper, helper_person = volunteer
        claim = task_claim(actor=helper, task=task)
        # a stranger (another resident) cannot confirm; the beneficiary can, without codes
        with pytest.raises(PermissionDeniedError):
            claim_confirm(actor=helper, claim=claim)
        claim = claim_confirm(actor=user, claim=claim)
        assert claim.record_type == RecordType.CREDIT
        assert ledger.resident_account(helper_person).balance == 20
        assert VolunteerRecord.objects.get(claim=claim).recorded_by == user
        task_complete(actor=user, task=task)

    def test_escrow_returned_when_help_request_is_cancelled(self, resident, volunteer):
        user, person = resident
        give_points(person, 50)
        start, end = window(2)
        task = help_request_create(
            actor=user, title="取快递", starts_at=start, ends_at=end, points=15, quota=2
        )
        assert ledger.resident_account(person).balance == 20
        task_claim(actor=volunteer[0], task=task)
        task_cancel(actor=user, task=task, reason="已解决")
        assert ledger.resident_account(person).balance == 50
        assert ledger.escrow_account(task).balance == 0

    def test_help_request_with_too_few_points(self, resident):
        user, person = resident
        give_points(person, 5)
        start, end = window()
        with pytest.raises(ledger.InsufficientPoints):
            help_request_create(actor=user, title="x", starts_at=start, ends_at=end, points=10)
        assert not Task.objects.exists()
        assert ledger.resident_account(person).balance == 5

    def test_grid2_cannot_confirm_in_grid_a(self, make_task, volunteer, persona):
        task = make_task()
        task_claim(actor=volunteer[0], task=task)
        claim = attend(volunteer[0], task)
        with pytest.raises(PermissionDeniedError):
            claim_confirm(actor=persona("grid2"), claim=claim)


class TestHonour:
    def test_honour_needs_reason_is_capped_audited_and_credited_once(
        self, make_task, volunteer, persona
    ):
        task = make_task(points_per_person=10, hours_per_person=2)
        user, person = volunteer
        claim = task_claim(actor=user, task=task)
        staff = persona("grid")
        with pytest.raises(InvalidInput) as error:
            claim_grant_honour(actor=staff, claim=claim, points=5, hours=1, reason="")
        assert error.value.code == "required"
        for points, hours in ((11, 1), (5, "2.5")):
            with pytest.raises(InvalidInput) as error:
                claim_grant_honour(
                    actor=staff, claim=claim, points=points, hours=hours, reason="忘记签到"
                )
            assert error.value.code == "over_honour_cap"
        for bad in (0, -1, "x", 1.5):
            with pytest.raises(InvalidInput):
                claim_grant_honour(actor=staff, claim=claim, points=bad, hours=1, reason="忘记签到")
        assert ledger.resident_account(person).balance == 0
        claim = claim_grant_honour(
            actor=staff, claim=claim, points=8, hours="1.5", reason="忘记签到"
        )
        assert claim.record_type == RecordType.HONOUR and claim.points_awarded == 8
        assert ledger.resident_account(person).balance == 8
        event = AuditEvent.objects.get(action="points.honour_grant")
        assert event.reason == "忘记签到" and event.details["points"] == 8
        with pytest.raises(ConflictError):
            claim_grant_honour(actor=staff, claim=claim, points=2, hours=0, reason="再来")
        with pytest.raises(ConflictError):
            claim_confirm(actor=staff, claim=claim)
        assert ledger.resident_account(person).balance == 8

    def test_residents_cannot_grant_honour(self, make_task, volunteer, volunteer2):
        task = make_task()
        claim = task_claim(actor=volunteer[0], task=task)
        with pytest.raises(PermissionDeniedError):
            claim_grant_honour(actor=volunteer2[0], claim=claim, points=1, hours=0, reason="x")


class TestCaps:
    def test_daily_cap_limits_what_is_credited(self, make_task, volunteer, persona, world, pool):
        PointsRule.objects.create(region_code=world["community"], daily_cap=25, per_task_cap=20)
        user, person = volunteer
        credited = []
        for _ in range(3):
            task = make_task(points_per_person=10, quota=1)
            task_claim(actor=user, task=task)
            claim = claim_confirm(actor=persona("grid"), claim=attend(user, task))
            credited.append(claim.points_awarded)
            task_complete(actor=persona("grid"), task=task)
        assert credited == [10, 10, 5]
        assert ledger.resident_account(person).balance == 25
        pool.refresh_from_db()
        assert pool.balance == 10_000 - 25  # the capped 5 went back with the escrow

    def test_per_task_cap_refuses_bigger_rewards(self, make_task, world):
        PointsRule.objects.create(region_code=world["city"], per_task_cap=15)
        with pytest.raises(InvalidInput) as error:
            make_task(points_per_person=16)
        assert error.value.details["cap"] == 15


class TestExpiry:
    def test_old_unspent_points_go_back_to_the_pool_once(self, resident, world, pool):
        _user, person = resident
        PointsRule.objects.create(region_code=world["community"], expiry_enabled=True)
        tz = timezone.get_current_timezone()
        from datetime import datetime

        from shequ.points import clock

        with clock.at(datetime(2024, 3, 1, 10, tzinfo=tz)):
            give_points(person, 100)
        with clock.at(datetime(2025, 6, 1, 10, tzinfo=tz)):
            give_points(person, 30)
        account = ledger.resident_account(person)
        with time_machine.travel(datetime(2025, 12, 1, tzinfo=tz)), pytest.raises(ConflictError):
            points_expire(year=2026)
        with time_machine.travel(datetime(2026, 1, 1, 3, tzinfo=tz)):
            result = points_expire(year=2026)
            again = points_expire(year=2026)
        assert result == {"accounts": 1, "points": 100}
        assert again == {"accounts": 0, "points": 0}
        account.refresh_from_db()
        assert account.balance == 30
        pool.refresh_from_db()
        assert pool.balance == 10_000 + 100
        assert Transfer.objects.get(kind=TransferKind.EXPIRY).reason.startswith("2026")

    def test_no_expiry_without_the_rule(self, resident, pool):
        _user, person = resident
        give_points(person, 10)
        from datetime import datetime

        with time_machine.travel(datetime(2030, 1, 2, tzinfo=timezone.get_current_timezone())):
            assert points_expire(year=2030) == {"accounts": 0, "points": 0}
