"""Login by username or mobile, token authentication, PII at rest for users."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from shequ.accounts.models import ApiToken, User
from shequ.accounts.services import (
    api_token_issue,
    api_token_revoke,
    assignment_grant,
    user_create,
    user_find_by_mobile,
)
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.models import AuditEvent
from shequ.geo.models import Region

pytestmark = pytest.mark.django_db


class TestLogin:
    def test_login_with_username(self, client):
        response = client.post("/login/", {"username": "grid", "password": "shequ-demo"})
        assert response.status_code == 302 and response["Location"] == "/"

    def test_login_with_mobile_number(self, client):
        response = client.post("/login/", {"username": "199 0000 0004", "password": "shequ-demo"})
        assert response.status_code == 302
        assert client.get("/").context["user"].username == "grid"

    def test_wrong_password_shows_clear_message(self, client):
        response = client.post("/login/", {"username": "grid", "password": "wrong"})
        assert response.status_code == 200
        assert "用户名（或手机号码）或密码错误" in response.content.decode()

    def test_unknown_user(self, client):
        response = client.post("/login/", {"username": "nobody", "password": "x"})
        assert "密码错误" in response.content.decode()

    def test_inactive_user_cannot_log_in(self, client):
        User.objects.filter(username="grid").update(is_active=False)
        response = client.post("/login/", {"username": "grid", "password": "shequ-demo"})
        assert response.status_code == 200  # the form again, with the error
        # The right password of a deactivated account reads like a wrong one: the backend
        # refuses inactive users before the form could tell them apart.
        assert "用户名（或手机号码）或密码错误" in response.content.decode()
        assert "_auth_user_id" not in client.session
        assert client.get("/")["Location"].startswith("/login/")  # still anonymous

    def test_logout_is_post(self, client_as):
        client = client_as("grid")
        assert client.post("/logout/").status_code == 302
        assert client.get("/").status_code == 302


class TestMobileAtRest:
    def test_mobile_is_encrypted_and_hashed(self):
        user = User.objects.get(username="grid")
        assert user.mobile == "19900000004"
        with connection.cursor() as cursor:
            cursor.execute("SELECT mobile, mobile_hash FROM accounts_user WHERE id = %s", [user.pk])
            raw, digest = cursor.fetchone()
        assert "19900000004" not in raw and "19900000004" not in digest
        assert raw.startswith("t1$")
        assert user_find_by_mobile("+86 199-0000-0004") == user

    def test_mobile_unique(self):
        with pytest.raises(ConflictError):
            user_create(username="someone", password="x-long-password", mobile="19900000004")

    def test_bad_mobile_rejected(self):
        with pytest.raises(InvalidInput) as info:
            user_create(username="someone", password="x-long-password", mobile="1234")
        assert "11 位" in info.value.message

    def test_masked_mobile(self):
        assert User.objects.get(username="grid").masked_mobile == "199****0004"


class TestTokens:
    def test_token_flow(self, client):
        response = client.post(
            "/api/v1/auth/token",
            {"username": "community", "password": "shequ-demo"},
            content_type="application/json",
        )
        assert response.status_code == 201
        body = response.json()
        token = body["token"]
        assert body["user"]["assignments"][0]["role"] == "community_staff"
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["username"] == "community"
        stored = ApiToken.objects.get(user__username="community")
        assert stored.key_hash != token and token not in stored.key_hash
        assert stored.last_used_at is not None

    def test_wrong_password_is_401_json(self, client):
        response = client.post(
            "/api/v1/auth/token",
            {"username": "grid", "password": "nope"},
            content_type="application/json",
        )
        assert response.status_code == 401
        assert response.json() == {
            "code": "invalid_credentials",
            "message": "用户名或密码错误。",
            "details": None,
        }

    def test_malformed_body_is_400(self, client):
        response = client.post("/api/v1/auth/token", "{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "malformed_request"
        response = client.post(
            "/api/v1/auth/token", {"username": ""}, content_type="application/json"
        )
        assert response.status_code == 400

    @pytest.mark.parametrize("header", ["Bearer sq_invalid", "Bearer ", "Basic abc", "sq_x"])
    def test_bad_tokens_are_401(self, client, header):
        response = client.get("/api/v1/auth/me", headers={"Authorization": header})
        assert response.status_code == 401

    def test_revoked_and_expired_tokens_are_refused(self, client, persona):
        token, plaintext = api_token_issue(user=persona("grid"))
        headers = {"Authorization": f"Bearer {plaintext}"}
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
        api_token_revoke(token=token)
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
        token2, plaintext2 = api_token_issue(user=persona("grid"))
        ApiToken.objects.filter(pk=token2.pk).update(expires_at=timezone.now() - timedelta(1))
        assert (
            client.get(
                "/api/v1/auth/me", headers={"Authorization": f"Bearer {plaintext2}"}
            ).status_code
            == 401
        )

    def test_token_of_deactivated_user_is_refused(self, client, persona):
        _token, plaintext = api_token_issue(user=persona("grid"))
        User.objects.filter(username="grid").update(is_active=False)
        response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {plaintext}"})
        assert response.status_code == 401


class TestAssignments:
    def test_grant_is_audited_and_checked(self, persona, world):
        user = user_create(username="newworker", password="a-long-password-1")
        grid = Region.objects.get(code=world["grid_a"])
        assignment_grant(user=user, role="grid_worker", region=grid, actor=persona("admin"))
        event = AuditEvent.objects.get(action="accounts.assignment_grant", object_id=user.pk)
        assert event.actor.username == "admin"
        assert event.region_code == world["grid_a"]
        user.refresh_from_db()
        assert not user.is_staff  # grid workers never get admin access (issue 21.5)
        with pytest.raises(InvalidInput):
            assignment_grant(user=user, role="grid_worker", region=grid.parent)
        with pytest.raises(InvalidInput):
            assignment_grant(user=user, role="property_staff")

    def test_database_refuses_region_role_without_region(self, persona):
        from django.db import IntegrityError, transaction

        from shequ.accounts.models import Assignment

        with pytest.raises(IntegrityError), transaction.atomic():
            Assignment.objects.create(user=persona("resident"), role="grid_worker")


class TestAuditAppendOnly:
    def test_update_and_delete_refused(self, persona):
        from shequ.core.audit import audit_record
        from shequ.core.models import AppendOnlyError

        event = audit_record(actor=persona("admin"), action="test.action")
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.filter(pk=event.pk).update(reason="changed")
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.filter(pk=event.pk).delete()
        with pytest.raises(AppendOnlyError):
            event.save()
        with pytest.raises(AppendOnlyError):
            event.delete()

    def test_database_trigger_refuses_update(self, persona):
        from django.db import DatabaseError, transaction

        from shequ.core.audit import audit_record

        event = audit_record(actor=persona("admin"), action="test.action")
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE core_auditevent SET reason = 'x' WHERE id = %s", [event.pk])
        if connection.vendor == "postgresql":
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
