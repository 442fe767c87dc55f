"""Participation credit (issue 13.1): points and/or hours once per (source, person), the region's
caps, funding from a pool or a task's escrow, hours-only credits, the registry of source types,
a second caller (a test-only "meeting" source) and the task claims crediting through it. The
ledger invariants are checked after every test."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from shequ.accounts.models import User
from shequ.core.errors import InvalidInput
from shequ.core.models import AuditEvent
from shequ.points import ledger, selectors
from shequ.points.choices import PointKind, RecordType, TransferKind
from shequ.points.models import Account, PointsRule, Transfer, VolunteerRecord
from shequ.points.services import (
    claim_check,
    claim_confirm,
    claim_grant_honour,
    credit_source_label,
    participation_credit,
    register_credit_source,
    task_claim,
    task_create,
)
from shequ.points.services import credit as credit_module
from tests.support import factories as pf
from tests.support.factories import fund_pool, make_resident_user
from tests.support.points import assert_ledger_exact

MEETING = "test.meeting"  # stands in for 月月谈 meetings (deliberation.meeting)

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL"
)


@pytest.fixture
def meeting_source(monkeypatch):
    """A second caller's source type, registered for the test only."""
    monkeypatch.setattr(credit_module, "_sources", dict(credit_module._sources))
    return register_credit_source(MEETING, label="月月谈参会")


@pytest.fixture
def staff(persona):
    return persona("community")


def credit(staff, person, *, source_id=1, points=5, hours="1.5", **extra):
    fields = {
        "actor": staff,
        "source_type": MEETING,
        "source_id": source_id,
        "person": person,
        "title": "三月议事会",
        "points": points,
        "hours": hours,
    }
    fields.update(extra)
    return participation_credit(**fields)


def reward_transfers():
    return Transfer.objects.filter(kind__in=(TransferKind.REWARD, TransferKind.HONOUR))


@pytest.mark.django_db
@pytest.mark.usefixtures("exact_ledger", "meeting_source")
class TestOncePerSourcePerson:
    def test_a_repeat_returns_the_first_record_and_writes_nothing(self, staff, volunteer, pool):
        _user, person = volunteer
        first = credit(staff, person)
        again = credit(staff, person, points=9, hours=3)  # the first call's amounts stand
        assert again.pk == first.pk
        assert (again.points, again.hours) == (5, Decimal("1.5"))
        assert VolunteerRecord.objects.filter(person=person).count() == 1
        assert reward_transfers().count() == 1
        assert ledger.resident_account(person).balance == 5
        assert AuditEvent.objects.filter(action="points.credit").count() == 1
        pool.refresh_from_db()
        assert pool.balance == 10_000 - 5

    def test_other_sources_and_other_people_are_credited_separately(
        self, staff, volunteer, volunteer2, pool
    ):
        (_u1, p1), (_u2, p2) = volunteer, volunteer2
        credit(staff, p1, source_id=1)
        credit(staff, p1, source_id=2)
        credit(staff, p2, source_id=1)
        assert VolunteerRecord.objects.count() == 3
        assert ledger.resident_account(p1).balance == 10
        assert ledger.resident_account(p2).balance == 5

    def test_the_database_refuses_a_second_record(self, staff, volunteer, pool):
        _user, person = volunteer
        first = credit(staff, person)
        with pytest.raises(IntegrityError), transaction.atomic():
            VolunteerRecord.objects.create(
                person=person,
                source_type=first.source_type,
                source_id=first.source_id,
                title="重复",
                region_code=person.region_code,
                service_date=first.service_date,
                hours=1,
                points=0,
                point_kind=PointKind.VOLUNTEER,
                record_type=RecordType.CREDIT,
                recorded_by=staff,
                recorder_name="x",
            )

    def test_a_claim_source_names_its_claim_in_the_database(self, staff, volunteer):
        _user, person = volunteer
        with pytest.raises(IntegrityError), transaction.atomic():
            VolunteerRecord.objects.create(
                person=person,
                source_type="points.claim",
                source_id=1,
                title="无报名",
                region_code=person.region_code,
                service_date=date(2026, 1, 1),
                hours=1,
                points=0,
                point_kind=PointKind.VOLUNTEER,
                record_type=RecordType.CREDIT,
                recorded_by=staff,
                recorder_name="x",
            )


@on_postgres
def test_two_concurrent_calls_make_one_record_and_one_transfer(
    reseed_after_flush, transactional_db, world, meeting_source
):
    fund_pool(world)
    _user, person = make_resident_user("racer", world["grid_a"], name="并发人")
    staff_pk = User.objects.get(username="community").pk
    barrier = threading.Barrier(2)
    results, lock = [], threading.Lock()

    def call() -> None:
        try:
            barrier.wait()
            record = credit(User.objects.get(pk=staff_pk), person, source_id=7)
            outcome = record.pk
        except Exception as error:  # reported in the assertion below
            outcome = repr(error)
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    record = VolunteerRecord.objects.get(person=person)
    assert results == [record.pk, record.pk], results
    assert reward_transfers().count() == 1
    assert ledger.resident_account(person).balance == 5
    assert_ledger_exact()


@pytest.mark.django_db
@pytest.mark.usefixtures("exact_ledger", "meeting_source")
class TestCapsAndFunding:
    def test_per_source_cap(self, staff, volunteer, world, pool):
        PointsRule.objects.create(region_code=world["community"], per_task_cap=4, daily_cap=60)
        _user, person = volunteer
        record = credit(staff, person, points=10)
        assert record.points == 4
        assert AuditEvent.objects.get(action="points.credit").details["capped"] is True

    def test_daily_cap_counts_every_source(self, staff, volunteer, world, make_task):
        PointsRule.objects.create(region_code=world["community"], per_task_cap=50, daily_cap=12)
        user, person = volunteer
        task = make_task(points_per_person=10)
        claim = task_claim(actor=user, task=task)
        claim_check(actor=user, task=task, code=task.checkin_code)
        claim_check(actor=user, task=task, code=task.checkout_code)
        claim_confirm(actor=staff, claim=claim)  # 10 of today's 12
        assert credit(staff, person, source_id=1, points=5).points == 2
        capped = credit(staff, person, source_id=2, points=5, hours=1)
        assert capped.points == 0 and capped.transfer is None and capped.hours == 1
        assert ledger.resident_account(person).balance == 12

    def test_default_funding_is_the_community_pool(self, staff, volunteer, world, pool):
        _user, person = volunteer
        record = credit(staff, person, points=6)
        debit = record.transfer.entries.get(amount__lt=0)
        assert debit.account_id == pool.pk and debit.amount == -6
        assert record.transfer.reason == "月月谈参会：三月议事会"

    def test_a_township_pool_may_fund_it(self, staff, volunteer, world):
        _user, person = volunteer
        township = ledger.pool_account(world["township"])
        ledger.transfer_post(
            key="test-township-fund",
            kind=TransferKind.FUNDING,
            reason="测试注资",
            legs=[(ledger.issuer_account(), -50), (township, 50)],
        )
        credit(staff, person, points=6, funded_from=township)
        township.refresh_from_db()
        assert township.balance == 44

    def test_wrong_funding_is_refused(self, staff, volunteer, volunteer2, world, pool):
        _user, person = volunteer
        _user2, other = volunteer2
        pf.give_points(other, 100)
        other_community = ledger.pool_account("321181002001")
        party_pool = ledger.pool_account(world["community"], PointKind.PARTY)
        for account in (ledger.resident_account(other), other_community, party_pool):
            with pytest.raises(InvalidInput) as error:
                credit(staff, person, funded_from=account)
            assert error.value.code == "invalid_funding"
        assert not VolunteerRecord.objects.exists()

    def test_an_empty_pool_writes_nothing(self, staff, volunteer):
        _user, person = volunteer
        accounts_before = Account.objects.count()
        with pytest.raises(ledger.InsufficientPoints) as error:
            credit(staff, person, points=5, point_kind=PointKind.PARTY)
        assert "余额不足" in str(error.value.message)
        assert error.value.status == 402
        assert not VolunteerRecord.objects.exists()
        assert not Transfer.objects.filter(kind=TransferKind.REWARD).exists()
        assert not AuditEvent.objects.filter(action="points.credit").exists()
        assert Account.objects.count() == accounts_before  # not even the resident's account

    def test_an_empty_pool_rolls_back_the_callers_change_too(self, staff, volunteer, make_task):
        """A claim confirmation whose escrow is short leaves the claim unconfirmed."""
        user, _person = volunteer
        task = make_task(points_per_person=10)
        claim = task_claim(actor=user, task=task)
        claim_check(actor=user, task=task, code=task.checkin_code)
        claim_check(actor=user, task=task, code=task.checkout_code)
        escrow = ledger.escrow_account(task)
        ledger.transfer_post(  # drain the escrow back to the pool
            key="test-drain",
            kind=TransferKind.ESCROW_RETURN,
            reason="测试",
            legs=[(escrow, -escrow.balance), (task.funding_account, escrow.balance)],
        )
        with pytest.raises(ledger.InsufficientPoints):
            claim_confirm(actor=staff, claim=claim)
        claim.refresh_from_db()
        assert claim.status == "checked_out" and claim.points_awarded == 0
        assert not VolunteerRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("exact_ledger", "meeting_source")
class TestInput:
    def test_hours_only(self, staff, volunteer):
        _user, person = volunteer
        record = credit(staff, person, points=0, hours=2, point_kind=PointKind.PARTY)
        assert record.points == 0 and record.transfer is None and record.hours == 2
        assert not Transfer.objects.filter(kind=TransferKind.REWARD).exists()
        assert selectors.balances(person).hours == 2

    def test_nothing_to_credit(self, staff, volunteer):
        _user, person = volunteer
        with pytest.raises(InvalidInput) as error:
            credit(staff, person, points=0, hours=0)
        assert error.value.code == "nothing_to_credit"

    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("points", -1, "invalid_amount"),
            ("points", "x", "invalid_amount"),
            ("hours", "1.25", "invalid_hours"),
            ("hours", 25, "invalid_hours"),
            ("hours", "abc", "invalid_hours"),
            ("source_id", 0, "invalid_source_id"),
            ("source_id", "3", "invalid_source_id"),
            ("title", " ", "required"),
            ("record_type", "gift", "invalid_record_type"),
            ("point_kind", "gold", "invalid_point_kind"),
        ],
    )
    def test_bad_input(self, staff, volunteer, pool, field, value, code):
        _user, person = volunteer
        with pytest.raises(InvalidInput) as error:
            credit(staff, person, **{field: value})
        assert error.value.code == code
        assert not VolunteerRecord.objects.exists()

    def test_honour_needs_a_reason(self, staff, volunteer, pool):
        _user, person = volunteer
        with pytest.raises(InvalidInput) as error:
            credit(staff, person, record_type=RecordType.HONOUR)
        assert error.value.code == "required"
        record = credit(staff, person, record_type=RecordType.HONOUR, reason="会务志愿")
        assert record.transfer.kind == TransferKind.HONOUR
        assert AuditEvent.objects.get(action="points.honour_grant").reason == "会务志愿"

    def test_the_claim_source_needs_its_claim(self, staff, volunteer, pool):
        _user, person = volunteer
        with pytest.raises(InvalidInput) as error:
            credit(staff, person, source_type="points.claim")
        assert error.value.code == "invalid_source_id"


class TestRegistry:
    def test_unknown_source_types_are_refused(self, db, persona, world):
        person = pf.make_person(grid_code=world["grid_a"])
        with pytest.raises(InvalidInput) as error:
            credit(persona("community"), person, source_type="deliberation.unknown")
        assert error.value.code == "unknown_credit_source"
        assert "deliberation.unknown" in str(error.value.message)

    def test_labels_and_bad_registrations(self, meeting_source):
        assert credit_source_label("points.claim") == "完成任务"
        assert credit_source_label(MEETING) == "月月谈参会"
        assert credit_source_label("gone.app") == "gone.app"
        register_credit_source(MEETING, label="月月谈参会")  # the same again: a no-op
        with pytest.raises(ValueError):
            register_credit_source(MEETING, label="别的名字")
        for bad in ("meeting", "Deliberation.Meeting", "a.b.c", "x." + "y" * 40):
            with pytest.raises(ValueError):
                register_credit_source(bad, label="x")


@pytest.mark.django_db
@pytest.mark.usefixtures("exact_ledger", "meeting_source")
class TestCallers:
    def test_a_meeting_credit_shows_in_the_residents_own_history(self, staff, volunteer, pool):
        _user, person = volunteer
        record = credit(staff, person, points=5, hours="1.5", service_date=date(2026, 3, 12))
        assert (record.source_type, record.source_id) == (MEETING, 1)
        assert record.claim is None and record.task is None
        (entry,) = selectors.history(person)
        assert entry.transfer.reason == "月月谈参会：三月议事会" and entry.amount == 5
        sheet = selectors.certificate(person, date(2026, 1, 1), date(2026, 12, 31))
        assert [r.title for r in sheet["records"]] == ["三月议事会"]
        assert sheet["hours"] == Decimal("1.5")
        event = AuditEvent.objects.get(action="points.credit")
        assert event.details["source_type"] == MEETING and event.details["source_id"] == 1

    def test_the_residents_own_pages_name_the_source(self, staff, volunteer, pool):
        user, person = volunteer
        credit(staff, person, points=5, hours="1.5")
        client = Client()
        client.force_login(user)
        history = client.get(reverse("points:me")).content.decode()
        assert "月月谈参会：三月议事会" in history
        sheet = client.get(reverse("points:certificate")).content.decode()
        assert "三月议事会" in sheet

    def test_a_task_claim_credits_through_it(self, staff, volunteer, make_task):
        user, person = volunteer
        task = make_task(points_per_person=10, hours_per_person=2)
        claim = task_claim(actor=user, task=task)
        claim_check(actor=user, task=task, code=task.checkin_code)
        claim_check(actor=user, task=task, code=task.checkout_code)
        claim = claim_confirm(actor=staff, claim=claim)
        record = VolunteerRecord.objects.get(person=person)
        assert (record.source_type, record.source_id) == ("points.claim", claim.pk)
        assert record.claim_id == claim.pk and record.task_id == task.pk
        assert record.title == task.title
        assert record.transfer.key == credit_module.credit_key("points.claim", claim.pk, person.pk)
        assert record.transfer.reason == f"完成任务：{task.title}"
        debit = record.transfer.entries.get(amount__lt=0)
        assert debit.account_id == ledger.escrow_account(task).pk
        assert claim.points_awarded == record.points == 10
        assert AuditEvent.objects.filter(action="points.confirm").count() == 1
        assert not AuditEvent.objects.filter(action="points.credit").exists()
        # a second credit for the same claim (however it is called) writes nothing
        again = participation_credit(
            actor=staff,
            source_type="points.claim",
            source_id=claim.pk,
            claim=claim,
            person=person,
            title=task.title,
            points=10,
            hours=2,
            funded_from=ledger.escrow_account(task),
        )
        assert again.pk == record.pk and reward_transfers().count() == 1

    def test_an_honour_grant_credits_through_it(self, staff, volunteer, make_task):
        user, person = volunteer
        task = make_task(points_per_person=10, hours_per_person=2)
        claim = task_claim(actor=user, task=task)
        claim_grant_honour(actor=staff, claim=claim, points=6, hours=1, reason="忘记签到")
        record = VolunteerRecord.objects.get(person=person)
        assert (record.source_type, record.source_id) == ("points.claim", claim.pk)
        assert record.record_type == RecordType.HONOUR and record.reason == "忘记签到"
        assert record.transfer.reason == f"荣誉积分：{task.title}（忘记签到）"


def test_the_migration_names_the_source_of_existing_records(
    reseed_after_flush, transactional_db, world
):
    """0004 fills source_type/source_id/title for the records written before it, and puts the
    append-only guard back (SQLite drops a table's triggers when it rebuilds the table)."""
    before, after = (
        [("points", "0003_checkin_codes_to_core")],
        [("points", "0004_volunteer_record_source")],
    )
    fund_pool(world)
    staff = User.objects.get(username="community")
    _user, person = make_resident_user("old-volunteer", world["grid_a"], name="老志愿")
    start, end = pf.window()
    task = task_create(
        actor=staff,
        kind="volunteer",
        title="旧任务",
        category="other",
        region_code=world["grid_a"],
        starts_at=start,
        ends_at=end,
        quota=1,
        points_per_person=5,
        publish=True,
    )
    claim = task_claim(actor=person.user, task=task)

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old_apps.get_model("points", "VolunteerRecord").objects.create(
        person_id=person.pk,
        claim_id=claim.pk,
        task_id=task.pk,
        region_code=person.region_code,
        service_date=date(2026, 3, 1),
        hours=1,
        points=0,
        point_kind="volunteer",
        record_type="credit",
        recorded_by_id=staff.pk,
        recorder_name="x",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    record = VolunteerRecord.objects.get(person=person)
    assert (record.source_type, record.source_id, record.title) == (
        "points.claim",
        claim.pk,
        "旧任务",
    )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE points_volunteerrecord SET hours = 2 WHERE id = %s", [record.pk])
