"""Points rules (issue 21.6): a check-out credits the time actually served (rounded down to the
configured unit, at least the minimum, at most the task's hours); 荣誉 points only for a task that
has begun; the store's confirm dialog states the total for the quantity. And (国办函〔2026〕12号)
no page ranks people by points: recognition is by thresholds on one's own profile."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from shequ.core.errors import ConflictError
from shequ.points import clock
from shequ.points.choices import ClaimStatus
from shequ.points.models import Claim, VolunteerRecord
from shequ.points.services import (
    claim_check,
    claim_confirm,
    claim_grant_honour,
    served_hours,
    task_claim,
)
from tests import points_factories as pf
from tests.points_factories import give_points, make_resident_user, window

exact_ledger = pf.exact_ledger
make_task = pf.make_task
pool = pf.pool
resident = pf.resident
volunteer = pf.volunteer
store = pf.store
make_item = pf.make_item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exact_ledger")]


def attend(user, task, *, minutes: float):
    """Check in at the task's start and out `minutes` later (the points clock set)."""
    with clock.at(task.starts_at):
        claim_check(actor=user, task=task, code=task.checkin_code)
    with clock.at(task.starts_at + timedelta(minutes=minutes)):
        return claim_check(actor=user, task=task, code=task.checkout_code)


class TestServedHours:
    @pytest.mark.parametrize(
        ("minutes", "expected"),
        [
            (0, "0.5"),  # the minimum
            (4, "0.5"),  # a check-out within minutes: the minimum, not the task's 3 hours
            (29, "0.5"),
            (59, "0.5"),  # rounded down to the half hour
            (60, "1.0"),
            (95, "1.5"),
            (179, "2.5"),
            (180, "3.0"),
            (400, "3.0"),  # capped at the task's hours
        ],
    )
    def test_defaults_half_hour_unit_and_minimum(self, make_task, minutes, expected):
        task = make_task(hours_per_person=3)
        start = task.starts_at
        assert served_hours(task, start, start + timedelta(minutes=minutes)) == Decimal(expected)

    @override_settings(SHEQU_POINTS_HOURS_UNIT_MINUTES=60, SHEQU_POINTS_HOURS_MINIMUM_MINUTES=0)
    def test_unit_and_minimum_are_settings(self, make_task):
        task = make_task(hours_per_person=3)
        start = task.starts_at
        assert served_hours(task, start, start + timedelta(minutes=10)) == Decimal("0")
        assert served_hours(task, start, start + timedelta(minutes=119)) == Decimal("1.0")

    def test_a_task_without_hours_credits_none(self, make_task):
        task = make_task(hours_per_person=0)
        start = task.starts_at
        assert served_hours(task, start, start + timedelta(hours=2)) == Decimal("0")

    def test_a_clock_running_backwards_credits_the_minimum(self, make_task):
        task = make_task(hours_per_person=2)
        start = task.starts_at
        assert served_hours(task, start, start - timedelta(minutes=5)) == Decimal("0.5")


class TestConfirmation:
    def test_quick_check_out_credits_the_minimum_and_full_points(
        self, make_task, volunteer, persona
    ):
        task = make_task(hours_per_person=3, points_per_person=10)
        user, _person = volunteer
        task_claim(actor=user, task=task)
        claim = attend(user, task, minutes=4)
        claim = claim_confirm(actor=persona("grid"), claim=claim)
        assert claim.hours_awarded == Decimal("0.5") and claim.points_awarded == 10
        assert VolunteerRecord.objects.get(claim=claim).hours == Decimal("0.5")

    def test_a_full_stint_credits_the_time_served(self, make_task, volunteer, persona):
        task = make_task(hours_per_person=3)
        user, _person = volunteer
        task_claim(actor=user, task=task)
        claim = attend(user, task, minutes=100)
        claim = claim_confirm(actor=persona("grid"), claim=claim)
        assert claim.hours_awarded == Decimal("1.5")

    def test_beneficiary_confirmation_without_codes_credits_the_agreed_hours(self, world):
        from shequ.points.services import help_request_create

        asker, asker_person = make_resident_user("asker", world["grid_a"], name="李求助")
        helper, _helper_person = make_resident_user("helper", world["grid_a"], name="周帮忙")
        give_points(asker_person, 20)
        start, end = window()
        task = help_request_create(
            actor=asker, title="帮忙换灯泡", starts_at=start, ends_at=end, points=5, hours="1"
        )
        claim = task_claim(actor=helper, task=task)
        claim = claim_confirm(actor=asker, claim=claim)
        assert claim.hours_awarded == Decimal("1.0")


class TestHonour:
    def test_no_honour_for_a_task_that_has_not_begun(self, make_task, volunteer, persona):
        start = timezone.now() + timedelta(days=1)
        task = make_task(starts_at=start, ends_at=start + timedelta(hours=2))
        user, _person = volunteer
        claim = task_claim(actor=user, task=task)
        with pytest.raises(ConflictError) as error:
            claim_grant_honour(
                actor=persona("community"), claim=claim, points=5, hours=1, reason="提前发放"
            )
        assert error.value.code == "task_not_started"
        assert "尚未开始" in str(error.value.message)
        assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.CLAIMED
        assert not VolunteerRecord.objects.exists()
        # once the task has begun, the same grant goes through
        with clock.at(start + timedelta(minutes=30)):
            claim = claim_grant_honour(
                actor=persona("community"), claim=claim, points=5, hours=1, reason="忘记签到"
            )
        assert claim.status == ClaimStatus.CONFIRMED and claim.points_awarded == 5

    def test_the_page_shows_the_chinese_error(self, make_task, volunteer, client_as):
        start = timezone.now() + timedelta(days=1)
        task = make_task(starts_at=start, ends_at=start + timedelta(hours=2))
        claim = task_claim(actor=volunteer[0], task=task)
        response = client_as("community").post(
            reverse("points:claim-honour", args=[claim.pk]),
            {"points": "5", "hours": "1", "reason": "提前发放"},
            follow=True,
        )
        assert response.status_code == 200
        assert "任务尚未开始" in " ".join(str(m) for m in response.context["messages"])


class TestStoreConfirmDialog:
    def test_redeem_form_carries_the_price_for_the_total(self, client_as, resident, make_item):
        _user, person = resident
        give_points(person, 200)
        item = make_item(name="食用油", price=30, monthly_limit=3)
        page = client_as("resident").get(reverse("points:store")).content.decode()
        form = re.search(r'<form[^>]*action="[^"]*/redeem/"[^>]*>', page).group(0)
        assert f'data-price="{item.price}"' in form
        template = re.search(r'data-confirm-template="([^"]*)"', form).group(1)
        assert "{total}" in template and "{quantity}" in template and "食用油" in template
        # without script the plain message names one piece's price
        assert "data-confirm=" in form
