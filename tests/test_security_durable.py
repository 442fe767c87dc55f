"""Security state survives the rollback of the request that caused it (issue 12.1).

The Idempotency-Key layer rolls back every non-2xx answer, and a service's atomic block rolls
back when it raises; login failures, lockouts, code-guess counters, used TOTP steps, rate-limit
hits and audit rows of refusals must survive both (shequ/core/durable.py)."""

import json
import uuid

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from shequ.accounts import totp
from shequ.accounts.models import TotpDevice
from shequ.accounts.second_factor import totp_verify
from shequ.core.durable import durable_scope, durable_write, replay_rolled_back
from shequ.core.models import AuditEvent
from shequ.points.services import task_claim
from tests.support.factories import make_person, make_resident_user

TOKEN_URL = "/api/v1/auth/token"


def keyed_post(client: Client, url: str, body: dict, **headers):
    """POST with a fresh Idempotency-Key, as a client retrying safely would."""
    return client.post(
        url,
        json.dumps(body),
        content_type="application/json",
        headers={"Idempotency-Key": uuid.uuid4().hex, **headers},
    )


# The mechanism -------------------------------------------------------------------------------


class Counter:
    def __init__(self):
        self.runs = 0

    def __call__(self):
        self.runs += 1
        return self.runs


def test_a_write_outside_a_transaction_runs_once(db):
    write = Counter()
    with durable_scope():
        pass
    assert durable_write(write) == 1
    assert write.runs == 1


def test_a_write_undone_by_a_savepoint_rollback_runs_again_once(db):
    write = Counter()
    with durable_scope():
        try:
            with transaction.atomic():
                durable_write(write)
                raise RuntimeError("the service refuses")
        except RuntimeError:
            pass
        assert write.runs == 1
        assert replay_rolled_back() == 1
        assert write.runs == 2
        assert replay_rolled_back() == 0  # only once
    assert write.runs == 2


def test_a_write_whose_savepoint_survives_does_not_run_again(db):
    write = Counter()
    with durable_scope():
        with transaction.atomic():
            durable_write(write)
        assert replay_rolled_back() == 0
    assert write.runs == 1


@pytest.mark.usefixtures("reseed_after_flush", "transactional_db")
def test_committed_writes_are_forgotten_and_rolled_back_ones_rerun():
    kept, undone = Counter(), Counter()
    with durable_scope():
        with transaction.atomic():
            durable_write(kept)
        try:
            with transaction.atomic():
                durable_write(undone)
                raise RuntimeError
        except RuntimeError:
            pass
        assert not connection.in_atomic_block
    assert (kept.runs, undone.runs) == (1, 2)


def test_the_end_of_a_scope_replays_and_leaves_open_transactions_alone(db):
    undone, open_ = Counter(), Counter()
    with durable_scope():
        try:
            with transaction.atomic():
                durable_write(undone)
                raise RuntimeError
        except RuntimeError:
            pass
        durable_write(open_)  # inside the test's own transaction, which outlives the scope
    assert (undone.runs, open_.runs) == (2, 1)
    with durable_scope():
        pass
    assert open_.runs == 1  # never replayed into a later scope


# Login failures and lockout -------------------------------------------------------------------


def test_keyed_wrong_passwords_lock_the_account(db):
    """The outside test's finding: eight wrong passwords, each with a fresh key, then the right
    one got 201 and no failure was recorded."""
    client = Client()
    answers = [
        keyed_post(client, TOKEN_URL, {"username": "grid", "password": "wrong"}) for _ in range(8)
    ]
    assert [a.status_code for a in answers[:4]] == [401] * 4
    assert all(a.status_code == 429 for a in answers[4:]), [a.status_code for a in answers]
    assert answers[-1].json()["code"] == "account_locked"
    right = keyed_post(client, TOKEN_URL, {"username": "grid", "password": "shequ-demo"})
    assert right.status_code == 429
    assert right.json()["code"] == "account_locked"
    attempt = AccessAttempt.objects.get(username="grid")
    assert attempt.failures_since_start >= 5
    assert AuditEvent.objects.filter(action="accounts.login_locked").exists()


def test_a_keyed_wrong_password_is_recorded(db):
    keyed_post(Client(), TOKEN_URL, {"username": "community", "password": "wrong"})
    assert AccessAttempt.objects.get(username="community").failures_since_start == 1


def test_an_unknown_phone_number_is_never_stored_in_the_lockout_table(db):
    keyed_post(Client(), TOKEN_URL, {"username": "13912345678", "password": "wrong"})
    names = list(AccessAttempt.objects.values_list("username", flat=True))
    assert names and not any("13912345678" in name for name in names)
    assert all("13912345678" not in (a.post_data or "") for a in AccessAttempt.objects.all())


# Check-in codes --------------------------------------------------------------------------------


def test_keyed_wrong_checkin_codes_are_counted_and_lock(db, make_task):
    MAX_CODE_FAILURES = settings.SHEQU_CHECKIN_MAX_CODE_FAILURES
    task = make_task()
    user, _person = make_resident_user("durable-volunteer", task.region_code)
    claim = task_claim(actor=user, task=task)
    client = Client()
    client.force_login(user)
    wrong = "000000" if task.checkin_code != "000000" else "111111"
    url = f"/api/v1/points/tasks/{task.pk}/check"
    answers = [keyed_post(client, url, {"code": wrong}) for _ in range(12)]
    codes = [a.json()["code"] for a in answers]
    assert codes[:MAX_CODE_FAILURES] == ["wrong_code"] * MAX_CODE_FAILURES
    assert set(codes[MAX_CODE_FAILURES:]) == {"too_many_code_failures"}
    claim.refresh_from_db()
    assert claim.code_failures == MAX_CODE_FAILURES
    # now even the right code is refused: the counter held
    right = keyed_post(client, url, {"code": task.checkin_code})
    assert right.json()["code"] == "too_many_code_failures"
    assert AuditEvent.objects.filter(action="core.checkin_code_locked").count() == 1


# TOTP -------------------------------------------------------------------------------------------


@pytest.fixture
def city_with_totp(persona):
    user = persona("city")
    secret = totp.new_secret()
    TotpDevice.objects.create(user=user, secret=secret, confirmed_at="2026-01-01T00:00:00Z")
    return user, secret


def test_keyed_wrong_totp_codes_are_audited(db, city_with_totp, settings):
    settings.SHEQU_REQUIRE_TOTP = True
    body = {"username": "city", "password": "shequ-demo", "otp": "000000"}
    client = Client()
    for _ in range(3):
        answer = keyed_post(client, TOKEN_URL, body)
        assert answer.status_code == 401
        assert answer.json()["code"] == "otp_required"
    assert AuditEvent.objects.filter(action="accounts.totp_failed").count() == 3


def test_a_used_totp_code_stays_used_after_a_rollback(db, city_with_totp):
    user, secret = city_with_totp
    code = totp.code_at(secret, totp.current_step())
    with durable_scope():
        try:
            with transaction.atomic():
                assert totp_verify(user=user, code=code)
                raise RuntimeError("the rest of the request failed")
        except RuntimeError:
            pass
    assert not totp_verify(user=user, code=code)  # replaying the same code is refused


# Rate limits and refusals in the audit log ------------------------------------------------------


def test_keyed_requests_count_against_the_rate_limit(db, settings):
    settings.SHEQU_RATE_LIMIT_ENABLED = True
    settings.SHEQU_RATE_LIMITS = {**settings.SHEQU_RATE_LIMITS, "login": "3/m"}
    client = Client()
    answers = [
        keyed_post(client, TOKEN_URL, {"username": f"nobody{i}", "password": "x"}) for i in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    assert answers[-1].json()["code"] == "rate_limited"


def test_a_keyed_refused_reveal_is_audited(db, api_client_as, world):
    person = make_person(grid_code=world["grid_a"], name="李四")
    client = api_client_as("auditor")  # reads the registry, may not reveal numbers
    answer = keyed_post(
        client, f"/api/v1/people/{person.pk}/reveal", {"field": "id_number", "reason": "核对"}
    )
    assert answer.status_code == 403
    row = AuditEvent.objects.get(action="people.reveal_refused")
    assert row.object_id == str(person.pk)
    assert row.actor.username == "auditor"


def test_a_database_cache_for_rate_limits_is_flagged(settings):
    from shequ.core.checks import rate_limit_cache_check

    assert rate_limit_cache_check(None) == []
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "c"}
    }
    assert [w.id for w in rate_limit_cache_check(None)] == ["shequ.W003"]
