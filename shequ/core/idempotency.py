"""Idempotency-Key for creating requests: a retried POST replays the first response.

Applies to POST/PUT/PATCH under SHEQU_IDEMPOTENT_PREFIXES (/api/v1/ and /open311/) that carry
the header. The record and the request's effects commit in one transaction, so a crash between
them cannot leave an effect without its record (or the reverse). Only 2xx responses are
remembered: a failed request is rolled back (it changed nothing) and may be retried with the
same key — except its security state (login failures, code guesses, refusals in the audit
log), which `shequ.core.durable` writes again after the rollback. The same key with a different body (or path) is refused with 422.

Concurrency: two requests with the same key race on the unique (client, key) index. On
PostgreSQL the second INSERT waits for the first transaction and then fails, and the second
request replays the first one's response; on SQLite the write lock (transaction_mode=IMMEDIATE)
serialises them the same way — and every other creating request too, for as long as its view
runs; one that waits longer than SQLite's busy timeout gets 503 + Retry-After (nothing done). Stored responses are encrypted with the data key (they can hold
tokens or personal data) and forgotten after SHEQU_IDEMPOTENCY_HOURS (the hourly
`core.purge_idempotency` job deletes them; expired rows are ignored until then).
"""

import base64
import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.crypto import DecryptionError, decrypt, encrypt
from shequ.core.durable import replay_rolled_back
from shequ.core.http import client_ip
from shequ.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
METHODS = {"POST", "PUT", "PATCH"}
MAX_KEY_LENGTH = 200
MAX_STORED_BODY = 1024 * 1024
SEALED = b"enc1:"
BODY_CONTEXT = "core.idempotency.body"


def prefixes() -> tuple[str, ...]:
    return tuple(getattr(settings, "SHEQU_IDEMPOTENT_PREFIXES", ("/api/v1/", "/open311/")))


def applies_to(method: str, path: str) -> bool:
    return method in METHODS and path.startswith(prefixes())


def _client_id(request) -> str:
    """Who is calling: a hash of their credential, so keys of different callers never collide."""
    auth = request.headers.get("Authorization", "")
    if auth:
        ident = "auth:" + auth
    else:
        api_key = request.GET.get("api_key", "")
        if not api_key and request.content_type == "application/x-www-form-urlencoded":
            api_key = QueryDict(request.body, encoding="utf-8").get("api_key", "")
        if api_key:
            ident = "key:" + api_key
        elif getattr(request, "user", None) is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = "anon:" + client_ip(request)
    return hashlib.sha256(ident.encode()).hexdigest()


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.get_full_path(), request.content_type or ""):
        digest.update(part.encode() + b"\x00")
    digest.update(request.body)
    return digest.hexdigest()


def seal(body: bytes) -> bytes:
    return SEALED + encrypt(base64.b64encode(body).decode(), context=BODY_CONTEXT).encode()


def unseal(stored: bytes | memoryview) -> bytes:
    """The body as stored (PostgreSQL returns a binary column as a memoryview), unsealed."""
    raw = bytes(stored)
    if not raw.startswith(SEALED):
        return raw
    return base64.b64decode(decrypt(raw[len(SEALED) :].decode(), context=BODY_CONTEXT))


def expiry_cutoff():
    return timezone.now() - timedelta(hours=settings.SHEQU_IDEMPOTENCY_HOURS)


def purge_expired() -> int:
    """Delete records older than the idempotency window (run hourly by the worker)."""
    return IdempotencyRecord.objects.filter(created_at__lt=expiry_cutoff()).delete()[0]


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"code": code, "message": message, "details": None},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _replay(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    if record.fingerprint != fingerprint:
        return _error(
            422,
            "idempotency_key_reused",
            _("该 Idempotency-Key 已用于内容不同的请求，请换一个新的键。"),
        )
    if record.status_code == 0:
        return _error(409, "idempotency_in_progress", _("相同的请求正在处理中，请稍后重试。"))
    try:
        body = unseal(record.body)
    except (DecryptionError, ValueError):
        body = b""
    if not body and record.content_type == "":
        return _error(
            record.status_code,
            "idempotent_replay",
            _("该请求已处理成功（原响应未保存，无法重放内容）。"),
        )
    response = HttpResponse(body, status=record.status_code, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def _busy() -> JsonResponse:
    response = _error(503, "busy", _("系统繁忙，请稍后重试（请求未被处理）。"))
    response["Retry-After"] = "2"
    return response


def _lock_timeout(error: OperationalError) -> bool:
    """SQLite gave up waiting for the write lock (busy timeout): nothing was written."""
    return connection.vendor == "sqlite" and "locked" in str(error)


class _Discard(Exception):
    def __init__(self, response):
        self.response = response


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(HEADER)
        if key is None or not applies_to(request.method, request.path):
            return self.get_response(request)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _error(
                400,
                "invalid_idempotency_key",
                _("Idempotency-Key 无效：应为 1–200 个可打印字符。"),
            )
        client = _client_id(request)
        fingerprint = _fingerprint(request)
        existing = IdempotencyRecord.objects.filter(client=client, key=key).first()
        if existing is not None:
            if existing.created_at >= expiry_cutoff():
                return _replay(existing, fingerprint)
            IdempotencyRecord.objects.filter(pk=existing.pk).delete()  # expired: a new request
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    client=client,
                    key=key,
                    method=request.method,
                    path=request.path[:300],
                    fingerprint=fingerprint,
                )
                response = self.get_response(request)
                if not 200 <= response.status_code < 300:
                    raise _Discard(response)  # roll back: a failed request changes nothing
                record.status_code = response.status_code
                if not response.streaming and len(response.content) <= MAX_STORED_BODY:
                    record.content_type = response.get("Content-Type", "")
                    record.body = seal(response.content)
                record.save(update_fields=["status_code", "content_type", "body"])
        except _Discard as discarded:
            return discarded.response
        except OperationalError as error:
            # On SQLite every creating request waits for the one write lock; when it waited
            # longer than the busy timeout, say "busy, retry" (503) instead of a 500.
            if _lock_timeout(error):
                return _busy()
            raise
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(client=client, key=key).first()
            if existing is None:
                raise
            return _replay(existing, fingerprint)
        finally:
            # Security state the rollback undid (login failures, code guesses) is written
            # again now, outside the discarded transaction (shequ/core/durable.py).
            replay_rolled_back()
        return response
