"""Security hardening: headers and CSP, CSRF, login lockout (django-axes), rate limits, upload
size limits, and what production settings turn on."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from shequ.core import ratelimit
from shequ.core.errors import InvalidInput
from shequ.core.http import client_ip
from shequ.core.uploads import check_upload

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "shequ-demo"


def login(client, username, password=PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


# Headers and CSP ----------------------------------------------------------------------------


def test_security_headers_on_pages(client):
    response = client.get("/login/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert script_src.strip() == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_no_inline_script_in_any_template():
    """CSP forbids inline scripts; data reaches JS only through json_script."""
    offenders = []
    for template in ROOT.glob("shequ/**/templates/**/*.html"):
        for tag in re.findall(r"<script\b[^>]*>", template.read_text()):
            if "src=" not in tag:
                offenders.append(f"{template.relative_to(ROOT)}: {tag}")
        if re.search(r"\son[a-z]+\s*=", template.read_text()):
            offenders.append(f"{template.relative_to(ROOT)}: inline event handler")
    assert not offenders


def test_csrf_is_enforced_on_login():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "grid", "password": PASSWORD})
    assert response.status_code == 403


def production_settings(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    env.update(
        SHEQU_ENV="production",
        SECRET_KEY="x" * 50,
        SHEQU_DATA_KEY="k2:" + "A" * 43,
        ALLOWED_HOSTS="shequ.example.cn",
        DATABASE_URL="sqlite:////tmp/never-opened.sqlite3",
        SHEQU_VAR_DIR="/tmp",
        DJANGO_SETTINGS_MODULE="shequ.settings",
        **extra,
    )
    names = [
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_NAME",
        "SHEQU_REQUIRE_TOTP",
        "LOG_FORMAT",
        "DEBUG",
    ]
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_turns_on_https_cookies_totp_and_json_logs():
    values = production_settings()
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert values["SHEQU_REQUIRE_TOTP"] is True
    assert values["LOG_FORMAT"] == "json"
    assert values["DEBUG"] is False


def test_prod_check_has_no_warnings():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEQU_")}
    result = subprocess.run(
        ["make", "-s", "prod-check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


# Login lockout (django-axes) -----------------------------------------------------------------


def test_five_failures_lock_the_account_for_15_minutes(db, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    for _ in range(4):
        response = login(client, "grid", "wrong")
        assert response.status_code == 200
        assert "用户名（或手机号码）或密码错误" in response.content.decode()
    locked = login(client, "grid", "wrong")  # the fifth failure locks
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "登录失败次数过多" in text and "锁定 15 分钟" in text
    # Even the right password is refused while locked, from any address.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert login(other, "grid").status_code == 429
    assert "_auth_user_id" not in other.session
    # Another account is not affected.
    assert login(Client(), "grid2").status_code == 302
    time_machine.shift(timedelta(minutes=15, seconds=1))
    assert login(Client(), "grid").status_code == 302


def test_lockout_counts_mobile_and_username_as_one_account(db):
    client = Client()
    for attempt in range(5):
        who = "19900000004" if attempt % 2 else "GRID"  # grid's demo mobile number
        login(client, who, "wrong")
    assert login(Client(), "grid").status_code == 429


def test_api_token_endpoint_locks_out_too(db):
    client = Client()
    body = {"username": "grid2", "password": "wrong"}
    for _ in range(4):
        response = client.post("/api/v1/auth/token", body, content_type="application/json")
        assert response.status_code == 401
    locked = client.post("/api/v1/auth/token", body, content_type="application/json")
    assert locked.status_code == 429
    assert locked.json()["code"] == "account_locked"
    assert "锁定" in locked.json()["message"]
    good = {"username": "grid2", "password": PASSWORD}
    assert (
        client.post("/api/v1/auth/token", good, content_type="application/json").status_code == 429
    )


def test_success_resets_the_failure_count(db):
    client = Client()
    for _ in range(4):
        login(client, "community", "wrong")
    assert login(Client(), "community").status_code == 302
    for _ in range(4):
        login(Client(), "community", "wrong")
    assert login(Client(), "community").status_code == 302


# Rate limits ----------------------------------------------------------------------------------


@override_settings(SHEQU_RATE_LIMIT_ENABLED=True, SHEQU_RATE_LIMITS={"demo": "3/m"})
def test_limiter_counts_per_key_and_window():
    from django.core.cache import cache

    cache.clear()
    now = 60 * 16_667 + 20.0  # 20 s into a minute window
    assert [ratelimit.hit("demo", "a", now=now) for _ in range(3)] == [0, 0, 0]
    assert ratelimit.hit("demo", "a", now=now) == 40  # seconds until the window ends
    assert ratelimit.hit("demo", "b", now=now) == 0  # another caller
    assert ratelimit.hit("demo", "a", now=now + 41) == 0  # next window
    assert ratelimit.hit("unlimited", "a", now=now) == 0


def test_limit_specs():
    assert ratelimit.parse("20/h") == ratelimit.Limit(20, 3600)
    with pytest.raises(ValueError):
        ratelimit.parse("often")


@override_settings(SHEQU_RATE_LIMIT_ENABLED=True, SHEQU_RATE_LIMITS={"login": "2/m"})
def test_login_is_rate_limited_per_address(db):
    from django.core.cache import cache

    cache.clear()
    client = Client(REMOTE_ADDR="10.9.9.9")
    login(client, "resident", "wrong")
    login(client, "grid2", "wrong")
    limited = login(client, "city")
    assert limited.status_code == 429
    assert "操作过于频繁" in limited.content.decode()
    api = client.post(
        "/api/v1/auth/token",
        {"username": "city", "password": PASSWORD},
        content_type="application/json",
    )
    assert api.status_code == 429
    assert api.json()["code"] == "rate_limited"
    assert int(api["Retry-After"]) > 0
    assert login(Client(REMOTE_ADDR="10.9.9.10"), "city").status_code == 302


@override_settings(SHEQU_PROXY_COUNT=1)
def test_client_ip_behind_one_proxy(rf):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8", REMOTE_ADDR="127.0.0.1")
    assert client_ip(request) == "5.6.7.8"  # the address our proxy saw


def test_client_ip_without_proxy_ignores_forwarded_for(rf):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4", REMOTE_ADDR="9.9.9.9")
    assert client_ip(request) == "9.9.9.9"


@override_settings(SHEQU_PROXY_COUNT=1)
def test_a_forged_or_missing_forwarded_address_is_not_trusted(rf):
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR="<script>", REMOTE_ADDR="::1")) == "unknown"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"  # no header: the peer


@override_settings(SHEQU_PROXY_COUNT=1)
def test_every_consumer_reads_the_client_behind_the_proxy(rf, persona):
    """Audit rows, rate limits, idempotency, axes and /metrics all see the client, not nginx."""
    from axes.helpers import get_client_ip_address

    from shequ.core import idempotency
    from shequ.core.audit import audit_record
    from shequ.core.metrics import _allowed

    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="127.0.0.1")
    request.user = persona("community")
    assert audit_record(actor=persona("community"), action="test.ip", request=request).ip == (
        "203.0.113.7"
    )
    assert get_client_ip_address(request) == "203.0.113.7"
    other = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.8", REMOTE_ADDR="127.0.0.1")
    other.user = request.user = type("Anon", (), {"is_authenticated": False})()
    assert idempotency._client_id(request) != idempotency._client_id(other)
    with override_settings(PRODUCTION=True, SHEQU_METRICS_TOKEN=""):
        assert not _allowed(request)  # a public client reaching /metrics through nginx
        assert _allowed(rf.get("/", HTTP_X_FORWARDED_FOR="127.0.0.1", REMOTE_ADDR="127.0.0.1"))


# Upload size limits ----------------------------------------------------------------------------


@override_settings(SHEQU_MAX_REQUEST_BYTES=2048)
def test_oversized_request_is_413_before_it_is_read(client):
    body = b"x" * 4096
    api = client.post("/api/v1/auth/token", body, content_type="application/json")
    assert api.status_code == 413
    assert api.json()["code"] == "request_too_large"
    page = client.post("/login/", body, content_type="application/octet-stream")
    assert page.status_code == 413
    assert "请求内容过大" in page.content.decode()


def test_check_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    small = SimpleUploadedFile("a.jpg", b"x" * 10)
    check_upload(small, max_bytes=100)
    with pytest.raises(InvalidInput) as error:
        check_upload(SimpleUploadedFile("b.jpg", b"x" * 200), max_bytes=100)
    assert error.value.code == "file_too_large"


def test_broken_multipart_login_is_400_not_500(client, db):
    """Found by fuzzing: axes parsed the body of a failed login and crashed on it."""
    response = client.post("/api/v1/auth/token", b"--x--", content_type="multipart/form-data")
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("/api/v1/auth/token", '{"username": "a\\u0000b", "password": "x"}', "application/json"),
        ("/api/v1/auth/token", "username=a%00b&password=x", "application/x-www-form-urlencoded"),
        ("/login/", "username=a%00b&password=x", "application/x-www-form-urlencoded"),
    ],
)
def test_nul_characters_are_refused_with_400(client, db, path, body, content_type):
    """Found by fuzzing on PostgreSQL: a NUL in text made the database raise (500)."""
    response = client.post(path, body, content_type=content_type)
    assert response.status_code == 400
    assert "无效字符" in response.content.decode()


def test_nul_in_query_string_is_400(client_as):
    response = client_as("grid").get("/api/v1/geo/locate?lat=32&lng=119%00")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_character"


def test_multipart_uploads_may_contain_nul_bytes(client, db):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("photo.jpg", b"\xff\xd8\x00\x00binary", content_type="image/jpeg")
    response = client.post("/login/", {"username": "x", "password": "y", "photo": upload})
    assert response.status_code == 200  # reached the view (wrong password), not refused


def test_percent_signs_and_escaped_backslashes_are_fine(client, db):
    body = '{"username": "100%00 \\\\u0000 not a nul", "password": "x"}'
    response = client.post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == 401  # reached the view


def test_axes_gets_no_address_rather_than_unknown(rf, settings):
    """django-axes stores the address in an inet column on PostgreSQL: "unknown" would fail
    every login without REMOTE_ADDR (a test's force_login); None is stored as NULL."""
    from django.utils.module_loading import import_string

    from shequ.core.http import UNKNOWN

    request = rf.get("/")
    request.META.pop("REMOTE_ADDR", None)
    axes_ip = import_string(settings.AXES_CLIENT_IP_CALLABLE)
    assert client_ip(request) == UNKNOWN
    assert axes_ip(request) is None
    request.META["REMOTE_ADDR"] = "10.1.2.3"
    assert axes_ip(request) == "10.1.2.3"
