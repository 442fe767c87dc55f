"""The second factor (TOTP) for superusers and city operators."""

import hashlib
import re

import pytest
from django.test import Client, override_settings

from shequ.accounts import second_factor, totp
from shequ.accounts.models import TotpDevice

PASSWORD = "shequ-demo"
required = override_settings(SHEQU_REQUIRE_TOTP=True)


def test_rfc6238_vectors():
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits.
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    for when, expected in [(59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")]:
        assert totp.code_at(secret, when // 30, digits=8, digest=hashlib.sha1) == expected


def test_matching_step_accepts_drift_of_one_step():
    secret = totp.new_secret()
    now = 1_700_000_000.0
    step = totp.current_step(now)
    assert totp.matching_step(secret, totp.code_at(secret, step), now=now) == step
    assert totp.matching_step(secret, totp.code_at(secret, step - 1), now=now) == step - 1
    assert totp.matching_step(secret, totp.code_at(secret, step - 2), now=now) is None
    assert totp.matching_step(secret, "12ab56", now=now) is None


def current_code(user) -> str:
    device = TotpDevice.objects.get(user=user)
    return totp.code_at(device.secret, totp.current_step())


def test_demo_does_not_require_a_second_factor(client, persona):
    assert not second_factor.totp_required_for(persona("admin"))
    response = client.post("/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"


@required
@pytest.mark.parametrize("username", ["admin", "city"])
def test_enrolment_then_code_at_every_login(db, persona, username):
    user = persona(username)
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response["Location"] == "/login/totp/"
    assert "_auth_user_id" not in client.session  # not logged in by the password alone
    assert client.get("/").status_code == 302
    assert client.get("/login/totp/")["Location"] == "/login/totp/setup/"
    setup = client.get("/login/totp/setup/")
    text = setup.content.decode()
    assert "设置两步验证" in text
    secret = TotpDevice.objects.get(user=user).secret
    assert secret[:4] in text and "otpauth://totp/" in text
    assert (
        TotpDevice.objects.get(user=user).secret != ""
        and not TotpDevice.objects.get(user=user).confirmed
    )
    wrong = client.post("/login/totp/setup/", {"code": "000000"})
    assert wrong.status_code == 400 and "验证码不正确" in wrong.content.decode()
    done = client.post("/login/totp/setup/", {"code": current_code(user)})
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    # Next time: password, then a code (not the one already used).
    again = Client()
    again.post("/login/", {"username": username, "password": PASSWORD})
    assert again.get("/login/totp/").status_code == 200
    used = again.post("/login/totp/", {"code": current_code(user)})
    assert used.status_code == 400  # a code works once
    device = TotpDevice.objects.get(user=user)
    fresh = totp.code_at(device.secret, device.last_used_step + 1)
    assert again.post("/login/totp/", {"code": fresh}).status_code == 302
    assert again.get("/").status_code == 200


@required
def test_other_roles_log_in_with_a_password(db):
    client = Client()
    assert client.post("/login/", {"username": "grid", "password": PASSWORD})["Location"] == "/"


@required
def test_secret_is_encrypted_at_rest(db, persona):
    device = second_factor.totp_enrol(user=persona("admin"))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_totpdevice WHERE id = %s", [device.pk])
        stored = cursor.fetchone()[0]
    assert device.secret not in stored and re.match(r"^\w+\$", stored)


@required
def test_api_token_needs_the_code(db, persona):
    client = Client()
    body = {"username": "city", "password": PASSWORD}
    refused = client.post("/api/v1/auth/token", body, content_type="application/json")
    assert refused.status_code == 401 and refused.json()["code"] == "otp_required"
    user = persona("city")
    device = second_factor.totp_enrol(user=user)
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at="2026-01-01T00:00:00Z")
    ok = client.post(
        "/api/v1/auth/token",
        {**body, "otp": current_code(user)},
        content_type="application/json",
    )
    assert ok.status_code == 201


@required
def test_existing_password_only_session_is_ended(db, persona):
    client = Client()
    client.force_login(persona("admin"))
    assert client.get("/")["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session
    api = Client()
    api.force_login(persona("city"))
    assert api.get("/api/v1/auth/me").status_code == 401


def test_admin_login_goes_through_the_one_login_page(client):
    response = client.get("/admin/login/?next=/admin/geo/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/admin/geo/")


@required
def test_pending_login_expires(db, time_machine):
    from django.utils import timezone

    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    client.post("/login/", {"username": "admin", "password": PASSWORD})
    time_machine.shift(301)
    assert client.get("/login/totp/setup/")["Location"] == "/login/"


def test_reset_command(db, persona):
    from django.core.management import call_command

    second_factor.totp_enrol(user=persona("admin"))
    call_command("totp_reset", "admin", "--reason", "手机丢失")
    assert not TotpDevice.objects.filter(user__username="admin").exists()
    from shequ.core.models import AuditEvent

    assert AuditEvent.objects.filter(action="accounts.totp_reset", reason="手机丢失").exists()
