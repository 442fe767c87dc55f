"""core.checkin: issue, verify (right/wrong code, windows, the durable guess limit), rotate, QR;
and the points platform as its first caller (task codes are CheckinCode rows)."""

import base64
import urllib.parse
from datetime import timedelta

import pytest
import segno
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone

from shequ.accounts.models import User
from shequ.core.checkin import (
    checkin_code_failures,
    checkin_code_for,
    checkin_code_rotate,
    checkin_code_verify,
    checkin_codes_issue,
    checkin_qr,
    subject_key,
)
from shequ.core.durable import durable_scope
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.models import AuditEvent, CheckinCode, CheckinCodeFailure, CheckinPurpose
from shequ.geo.models import Region
from shequ.points.services import claim_check, task_claim

IN, OUT = CheckinPurpose.CHECKIN, CheckinPurpose.CHECKOUT


@pytest.fixture
def subject(world):
    """Any saved model instance can be a subject; a grid stands in for a meeting here."""
    return Region.objects.get(code=world["grid_a"])


@pytest.fixture
def user(db):
    return User.objects.create_user(username="checkin-user", password="x", full_name="王签到")


def wrong_for(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.mark.django_db
class TestIssue:
    def test_issue_both_purposes_with_distinct_six_digit_codes(self, subject):
        codes = checkin_codes_issue(subject)
        assert set(codes) == {IN, OUT}
        assert codes[IN].code != codes[OUT].code
        assert all(len(c.code) == 6 and c.code.isdigit() for c in codes.values())
        assert codes[IN].subject_type == "geo.region" and codes[IN].subject_id == subject.pk
        assert subject_key(subject) == ("geo.region", subject.pk)

    def test_codes_never_equal_between_purposes_even_when_issued_apart(self, subject, monkeypatch):
        # a generator that would repeat itself: the second purpose must still get another code
        draws = iter("1234561234561234567777777")
        monkeypatch.setattr("shequ.core.checkin.secrets.randbelow", lambda n: int(next(draws)))
        checkin_codes_issue(subject, purposes=[IN])
        checkin_codes_issue(subject, purposes=[OUT])
        assert checkin_code_for(subject, IN).code == "123456"
        assert checkin_code_for(subject, OUT).code == "777777"

    def test_the_database_refuses_one_code_for_both_purposes(self, subject):
        codes = checkin_codes_issue(subject)
        with pytest.raises(IntegrityError), transaction.atomic():
            CheckinCode.objects.filter(pk=codes[OUT].pk).update(code=codes[IN].code)

    def test_one_code_per_subject_and_purpose(self, subject):
        checkin_codes_issue(subject, purposes=[IN])
        with pytest.raises(ConflictError) as error:
            checkin_codes_issue(subject, purposes=[IN])
        assert error.value.code == "already_issued"
        with pytest.raises(IntegrityError), transaction.atomic():
            CheckinCode.objects.create(
                subject_type="geo.region", subject_id=subject.pk, purpose=IN, code="999999"
            )

    def test_bad_purpose_and_window_are_refused(self, subject):
        with pytest.raises(InvalidInput) as error:
            checkin_codes_issue(subject, purposes=["lunch"])
        assert error.value.code == "invalid_purpose"
        now = timezone.now()
        with pytest.raises(InvalidInput) as error:
            checkin_codes_issue(subject, valid_from=now, valid_until=now - timedelta(hours=1))
        assert error.value.code == "invalid_window"
        assert not CheckinCode.objects.exists()


@pytest.mark.django_db
class TestVerify:
    def test_right_code_passes_and_wrong_code_is_counted(self, subject, user):
        codes = checkin_codes_issue(subject)
        ok = checkin_code_verify(actor=user, subject=subject, purpose=IN, code=codes[IN].code)
        assert ok.pk == codes[IN].pk
        # surrounding blanks are forgiven
        checkin_code_verify(actor=user, subject=subject, purpose=IN, code=f" {codes[IN].code} ")
        with pytest.raises(InvalidInput) as error:
            checkin_code_verify(actor=user, subject=subject, purpose=IN, code=codes[OUT].code)
        assert error.value.code == "wrong_code"
        assert error.value.details == {"field": "code"}
        assert error.value.message == "签到码不正确。"
        assert checkin_code_failures(codes[IN], user) == 1
        assert checkin_code_failures(codes[OUT], user) == 0

    @pytest.mark.parametrize("typed", ["", None, "12345", "1234567", "abcdef"])
    def test_bad_input_is_a_wrong_code(self, subject, user, typed):
        codes = checkin_codes_issue(subject)
        with pytest.raises(InvalidInput) as error:
            checkin_code_verify(actor=user, subject=subject, purpose=OUT, code=typed)
        assert error.value.code == "wrong_code"
        assert error.value.message == "签退码不正确。"
        assert checkin_code_failures(codes[OUT], user) == 1

    def test_an_anonymous_visitor_is_refused(self, subject):
        codes = checkin_codes_issue(subject)
        with pytest.raises(PermissionDeniedError) as error:
            checkin_code_verify(
                actor=AnonymousUser(), subject=subject, purpose=IN, code=codes[IN].code
            )
        assert error.value.code == "login_required"

    def test_no_code_issued(self, subject, user):
        with pytest.raises(ConflictError) as error:
            checkin_code_verify(actor=user, subject=subject, purpose=IN, code="123456")
        assert error.value.code == "no_checkin_code"

    @override_settings(SHEQU_CHECKIN_MAX_CODE_FAILURES=3)
    def test_the_limit_locks_even_the_right_code_for_that_person_only(self, subject, user):
        codes = checkin_codes_issue(subject)
        right = codes[IN].code
        for _ in range(3):
            with pytest.raises(InvalidInput):
                checkin_code_verify(actor=user, subject=subject, purpose=IN, code=wrong_for(right))
        with pytest.raises(ConflictError) as error:
            checkin_code_verify(actor=user, subject=subject, purpose=IN, code=right)
        assert error.value.code == "too_many_code_failures"
        assert checkin_code_failures(codes[IN], user) == 3  # a locked guess is not counted
        locked = AuditEvent.objects.filter(action="core.checkin_code_locked")
        assert locked.count() == 1
        assert locked.get().details == {"purpose": IN, "user": user.pk, "failures": 3}
        # someone else, and the other purpose, are not locked
        other = User.objects.create_user(username="checkin-other", password="x")
        checkin_code_verify(actor=other, subject=subject, purpose=IN, code=right)
        checkin_code_verify(actor=user, subject=subject, purpose=OUT, code=codes[OUT].code)

    def test_the_default_limit_is_the_old_points_limit(self):
        assert settings.SHEQU_CHECKIN_MAX_CODE_FAILURES == 5

    def test_a_rolled_back_request_still_counts_the_failure(self, subject, user):
        codes = checkin_codes_issue(subject)
        with durable_scope():
            try:
                with transaction.atomic():  # the request's transaction, rolled back as a whole
                    checkin_code_verify(
                        actor=user, subject=subject, purpose=IN, code=wrong_for(codes[IN].code)
                    )
            except InvalidInput:
                pass
        assert checkin_code_failures(codes[IN], user) == 1
        assert CheckinCodeFailure.objects.get().failures == 1  # replayed once, not twice

    def test_windows(self, subject, user):
        now = timezone.now()
        codes = checkin_codes_issue(
            subject, valid_from=now + timedelta(hours=1), valid_until=now + timedelta(hours=2)
        )
        code = codes[IN].code
        for moment in (now, now + timedelta(hours=2, seconds=1)):
            with pytest.raises(ConflictError) as error:
                checkin_code_verify(actor=user, subject=subject, purpose=IN, code=code, now=moment)
            assert error.value.code == "outside_window"
        assert "签到" in error.value.message
        for moment in (now + timedelta(hours=1), now + timedelta(hours=2)):  # both ends inclusive
            checkin_code_verify(actor=user, subject=subject, purpose=IN, code=code, now=moment)
        # the window is checked before the code: a guess outside it is not counted
        with pytest.raises(ConflictError):
            checkin_code_verify(actor=user, subject=subject, purpose=IN, code="000000", now=now)
        assert checkin_code_failures(codes[IN], user) == 0
        # and the default clock is the real one (now is before the window)
        with pytest.raises(ConflictError):
            checkin_code_verify(actor=user, subject=subject, purpose=IN, code=code)


@pytest.mark.django_db
class TestRotateAndQr:
    def test_rotate_changes_the_code_keeps_purposes_apart_and_is_audited(
        self, subject, user, persona
    ):
        codes = checkin_codes_issue(subject)
        old = codes[IN].code
        rotated = checkin_code_rotate(actor=persona("community"), subject=subject, purpose=IN)
        assert rotated.code not in (old, codes[OUT].code) and rotated.rotated_at is not None
        with pytest.raises(InvalidInput):
            checkin_code_verify(actor=user, subject=subject, purpose=IN, code=old)
        checkin_code_verify(actor=user, subject=subject, purpose=IN, code=rotated.code)
        assert AuditEvent.objects.filter(action="core.checkin_code_rotate").count() == 1

    @override_settings(SHEQU_CHECKIN_MAX_CODE_FAILURES=1)
    def test_rotate_can_release_people_who_were_locked_out(self, subject, user, persona):
        codes = checkin_codes_issue(subject)
        with pytest.raises(InvalidInput):
            checkin_code_verify(actor=user, subject=subject, purpose=IN, code="x")
        checkin_code_rotate(actor=persona("community"), subject=subject, purpose=IN)
        assert checkin_code_failures(codes[IN], user) == 1  # rotation alone keeps the lock
        fresh = checkin_code_rotate(
            actor=persona("community"), subject=subject, purpose=IN, reset_failures=True
        )
        checkin_code_verify(actor=user, subject=subject, purpose=IN, code=fresh.code)

    def test_qr_holds_the_url_with_the_code_and_nothing_personal(self, subject, user):
        codes = checkin_codes_issue(subject)
        url = "https://shequ.example/points/tasks/7/check"
        svg = self._svg(checkin_qr(subject, IN, url=url))
        bare = self._svg(checkin_qr(subject, IN))
        assert svg.startswith("<?xml") or "<svg" in svg
        # what the QR encodes: the same SVG as encoding the expected text (segno is deterministic)
        expected = segno.make(f"{url}?code={codes[IN].code}", error="m", micro=False)
        assert svg == self._svg(expected.svg_data_uri(scale=6, border=2))
        assert bare == self._svg(
            segno.make(codes[IN].code, error="m", micro=False).svg_data_uri(scale=6, border=2)
        )
        for personal in (user.username, user.full_name, str(user.pk)):
            assert personal not in svg

    @staticmethod
    def _svg(data_uri: str) -> str:
        head, _, body = data_uri.partition(",")
        assert head.startswith("data:image/svg+xml")
        return base64.b64decode(body).decode() if ";base64" in head else urllib.parse.unquote(body)


@pytest.mark.django_db
class TestPointsIsTheFirstCaller:
    def test_task_codes_are_checkin_code_rows_with_the_task_windows(self, make_task):
        task = make_task()
        rows = {c.purpose: c for c in CheckinCode.objects.filter(subject_type="points.task")}
        assert set(rows) == {IN, OUT} and {c.subject_id for c in rows.values()} == {task.pk}
        assert task.checkin_code == rows[IN].code and task.checkout_code == rows[OUT].code
        assert rows[IN].valid_from == task.starts_at - timedelta(hours=1)
        assert rows[IN].valid_until == task.ends_at
        assert rows[OUT].valid_until == task.ends_at + timedelta(hours=3)

    def test_claim_check_counts_wrong_codes_in_core(self, make_task, volunteer):
        task = make_task()
        user, _person = volunteer
        claim = task_claim(actor=user, task=task)
        with pytest.raises(InvalidInput):
            claim_check(actor=user, task=task, code=wrong_for(task.checkin_code))
        assert checkin_code_failures(checkin_code_for(task, IN), user) == 1
        assert claim.code_failures == 1

    def test_checking_out_after_the_checkout_window_is_refused(self, make_task, volunteer):
        task = make_task()
        user, _person = volunteer
        task_claim(actor=user, task=task)
        claim_check(actor=user, task=task, code=task.checkin_code)
        CheckinCode.objects.filter(subject_type="points.task", purpose=OUT).update(
            valid_until=timezone.now() - timedelta(minutes=1)
        )
        with pytest.raises(ConflictError) as error:
            claim_check(actor=user, task=task, code=task.checkout_code)
        assert error.value.code == "outside_window"


# The points migration ---------------------------------------------------------------------------


def _migrate(*targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))


def test_points_migration_moves_codes_and_counts_both_ways(
    reseed_after_flush, transactional_db, make_task, volunteer
):
    """(No django_db mark: `reseed_after_flush` must come before `transactional_db`.)
    Unapplying points 0003 puts the codes and counts back into the task and claim columns;
    applying it again moves them into CheckinCode rows and the per-person counters."""
    task = make_task()
    user, _person = volunteer
    task_claim(actor=user, task=task)
    for _ in range(2):
        with pytest.raises(InvalidInput):
            claim_check(actor=user, task=task, code=wrong_for(task.checkin_code))
    codes = {IN: task.checkin_code, OUT: task.checkout_code}
    try:
        _migrate(("points", "0002_ledger_append_only"))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT checkin_code, checkout_code FROM points_task WHERE id = %s", [task.pk]
            )
            assert cursor.fetchone() == (codes[IN], codes[OUT])
            cursor.execute("SELECT code_failures FROM points_claim WHERE task_id = %s", [task.pk])
            assert cursor.fetchone() == (2,)
        assert not CheckinCode.objects.exists()
    finally:
        _migrate(*MigrationExecutor(connection).loader.graph.leaf_nodes())
    rows = CheckinCode.objects.filter(subject_type="points.task", subject_id=task.pk)
    assert {c.purpose: c.code for c in rows} == codes
    checkin = rows.get(purpose=IN)
    assert checkin.valid_from == task.starts_at - timedelta(hours=1)
    assert checkin.valid_until == task.ends_at
    assert checkin_code_failures(checkin, user) == 2
    claim_check(actor=user, task=task, code=codes[IN])  # and it still works
