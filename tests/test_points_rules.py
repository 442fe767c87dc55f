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
from tests.support.factories import give_points, make_resident_user, window

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


# ---------------------------------------------------------------------------------------------
# No ranking of people (国办函〔2026〕12号, reference §10): recognition by thresholds


def credit(person, points: int, hours: str) -> None:
    """A confirmed volunteer record worth `points` and `hours` (through the services)."""
    from shequ.accounts.models import User
    from shequ.points.services import task_create

    start, end = window()
    task = task_create(
        actor=User.objects.get(username="community"),
        kind="volunteer",
        title=f"服务{points}",
        category="environment",
        region_code=person.region_code,
        starts_at=start,
        ends_at=end,
        quota=1,
        points_per_person=points,
        hours_per_person=hours,
        publish=True,
    )
    claim = task_claim(actor=person.user, task=task)
    claim_grant_honour(
        actor=User.objects.get(username="community"),
        claim=claim,
        points=points,
        hours=hours,
        reason="核实",
    )


class TestStars:
    @pytest.mark.parametrize(
        ("hours", "stars", "to_next"),
        [
            ("0", 0, "100"),
            ("99.5", 0, "0.5"),
            ("100", 1, "200"),
            ("1499", 4, "1"),
            ("2000", 5, None),
        ],
    )
    def test_star_level_by_thresholds(self, hours, stars, to_next):
        from shequ.points.selectors import star_level

        level = star_level(Decimal(hours))
        assert level["stars"] == stars
        assert level["to_next"] == (Decimal(to_next) if to_next else None)

    @override_settings(SHEQU_POINTS_STAR_HOURS=(1, 2))
    def test_thresholds_are_settings(self):
        from shequ.points.selectors import star_level

        assert star_level(Decimal("1.5"))["stars"] == 1
        assert star_level(Decimal("2"))["next"] is None

    @override_settings(SHEQU_POINTS_STAR_HOURS=(2, 10))
    def test_own_page_shows_own_star(self, client_as, resident, pool):
        _user, person = resident
        credit(person, 5, "2")
        credit(person, 5, "1.5")
        body = client_as("resident").get(reverse("points:recognition")).content.decode()
        assert 'data-stars="1"' in body and "一星志愿者" in body
        assert "距二星志愿者还差 6.5 小时" in body

    def test_units_are_compared_not_people(self, client_as, world, pool):
        a = make_resident_user("va", world["grid_a"], name="甲志愿")[1]
        b = make_resident_user("vb", world["grid_b"], name="乙志愿")[1]
        credit(a, 10, "2")
        credit(b, 6, "1")
        response = client_as("community").get(reverse("points:recognition"))
        units = {u["code"]: u for u in response.context["units"]}
        flagship = units[world["community"]]
        assert flagship["volunteers"] == 2 and flagship["services"] == 2
        assert flagship["points"] == 16 and flagship["hours"] == Decimal("3.0")
        assert [u["code"] for u in response.context["units"]] == sorted(units)  # by code
        body = response.content.decode()
        assert "甲志愿" not in body and "乙志愿" not in body

    def test_bad_year_falls_back(self, client_as):
        response = client_as("community").get(reverse("points:recognition"), {"year": "abc"})
        assert response.status_code == 200
        assert response.context["year"] == timezone.localdate().year
        response = client_as("community").get(reverse("points:recognition"), {"year": "1900"})
        assert response.context["year"] == timezone.localdate().year

    def test_old_leaderboard_address_redirects(self, client_as):
        for who in ("resident", "community"):
            response = client_as(who).get("/points/leaderboard/?month=2026-01")
            assert response.status_code == 302
            assert response.url == reverse("points:recognition")


def test_no_page_lists_people_ordered_by_points(client_as, world, pool):
    """Three volunteers whose points order (乙 30 > 甲 20 > 丙 10) is neither their name, id nor
    grid order: no page that a resident, staff member or auditor can open from the menu (nor any
    points page) shows them in that order."""
    from shequ.core.masking import mask_name
    from shequ.core.nav import entries_for
    from shequ.points.urls import urlpatterns

    people = [
        make_resident_user(f"rank{n}", world["grid_a"], name=name)[1]
        for n, name in enumerate(("甲一志", "乙二志", "丙三志"))
    ]
    for person, points in zip(people, (20, 30, 10), strict=True):
        credit(person, points, "1")
    by_points = ["乙二志", "甲一志", "丙三志"]
    assert by_points != sorted(by_points)  # the order cannot be an alphabetical one
    point_urls = {
        f"/points/{p.pattern}" for p in urlpatterns if "<" not in str(p.pattern) and p.name
    }
    checked = 0
    for who in ("resident", "community", "township", "city", "auditor", "grid"):
        client = client_as(who)
        from shequ.accounts.models import User

        user = User.objects.get(username=who)
        nav = {e["url"] for pillar in entries_for(user) for e in pillar["entries"]}
        for url in sorted(nav | point_urls):
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            body = response.content.decode()
            checked += 1
            for names in (by_points, [mask_name(n) for n in by_points]):
                positions = [body.find(n) for n in names]
                if all(p >= 0 for p in positions):
                    assert positions != sorted(positions), f"{who} {url} ranks people by points"
            assert "志愿排行" not in body and "排行榜" not in body, url
    assert checked > 20
