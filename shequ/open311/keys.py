"""Services of Open311 application keys: create, revoke, authenticate, rate-limit.

The admin, the `open311_key` command and the demo seeder all create keys here.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, ratelimit
from shequ.core.actors import Actor
from shequ.core.errors import ConflictError, InvalidInput, NotFoundError
from shequ.open311.models import DEFAULT_RATE_LIMIT, ApiKey

KEY_PREFIX = "o311_"
MAX_KEY_LENGTH = 200
MAX_RATE_LIMIT = 1_000_000


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def _check_key(plaintext: str) -> None:
    if (
        not (8 <= len(plaintext) <= MAX_KEY_LENGTH)
        or not plaintext.isprintable()
        or " " in plaintext
    ):
        raise InvalidInput(_("密钥应为 8–200 个不含空格的可打印字符。"), code="invalid_key")


def api_key_create(
    *,
    name: str,
    key: str | None = None,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    can_post_updates: bool = False,
    contact: str = "",
    actor: Actor = None,
) -> tuple[ApiKey, str]:
    """Create an application key; returns (key row, plaintext). The plaintext is not stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("请填写应用名称（不超过 100 字）。"), code="invalid_name")
    if not 1 <= int(rate_limit) <= MAX_RATE_LIMIT:
        raise InvalidInput(_("每分钟请求上限应为 1–1000000。"), code="invalid_rate_limit")
    plaintext = key or new_key()
    _check_key(plaintext)
    try:
        with transaction.atomic():
            row = ApiKey.objects.create(
                name=name,
                prefix=plaintext[:8],
                key_hash=hash_key(plaintext),
                rate_limit=int(rate_limit),
                can_post_updates=can_post_updates,
                contact=contact[:200],
            )
            audit.audit_record(
                actor=actor,
                action="open311.key_create",
                obj=row,
                details={"rate_limit": row.rate_limit, "can_post_updates": can_post_updates},
            )
    except IntegrityError:
        raise ConflictError(_("应用名称或密钥已存在。"), code="key_exists") from None
    return row, plaintext


def api_key_update(
    *, name: str, key: str, rate_limit: int, can_post_updates: bool, actor: Actor = None
) -> ApiKey:
    """Change the limit and permission of an existing live key, given its plaintext (so that
    re-running `open311_key create NAME --key KEY …` is idempotent)."""
    row = ApiKey.objects.filter(name=name, key_hash=hash_key(key), revoked_at__isnull=True).first()
    if row is None:
        raise ConflictError(_("应用名称或密钥已存在。"), code="key_exists")
    if not 1 <= int(rate_limit) <= MAX_RATE_LIMIT:
        raise InvalidInput(_("每分钟请求上限应为 1–1000000。"), code="invalid_rate_limit")
    with transaction.atomic():
        ApiKey.objects.filter(pk=row.pk).update(
            rate_limit=int(rate_limit), can_post_updates=can_post_updates
        )
        audit.audit_record(
            actor=actor,
            action="open311.key_update",
            obj=row,
            details={"rate_limit": int(rate_limit), "can_post_updates": can_post_updates},
        )
    row.refresh_from_db()
    return row


def api_key_change(
    *, key: ApiKey, rate_limit: int, can_post_updates: bool, contact: str = "", actor: Actor = None
) -> ApiKey:
    """Change a key's limit, permission and contact (the admin's edit form; audited)."""
    if not 1 <= int(rate_limit) <= MAX_RATE_LIMIT:
        raise InvalidInput(_("每分钟请求上限应为 1–1000000。"), code="invalid_rate_limit")
    with transaction.atomic():
        stored = ApiKey.objects.select_for_update().get(pk=key.pk)  # `key` may hold form input
        before = {"rate_limit": stored.rate_limit, "can_post_updates": stored.can_post_updates}
        ApiKey.objects.filter(pk=key.pk).update(
            rate_limit=int(rate_limit), can_post_updates=can_post_updates, contact=contact[:200]
        )
        audit.audit_record(
            actor=actor,
            action="open311.key_update",
            obj=key,
            details={
                "before": before,
                "rate_limit": int(rate_limit),
                "can_post_updates": can_post_updates,
            },
        )
    key.refresh_from_db()
    return key


def api_key_revoke(*, name: str, actor: Actor = None) -> ApiKey:
    """Revoke a key by its application name (idempotent)."""
    row = ApiKey.objects.filter(name=name).first()
    if row is None:
        raise NotFoundError(_("没有名为 %(name)s 的密钥。") % {"name": name})
    with transaction.atomic():
        if ApiKey.objects.filter(pk=row.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        ):
            audit.audit_record(actor=actor, action="open311.key_revoke", obj=row)
    row.refresh_from_db()
    return row


def api_key_authenticate(plaintext: str | None) -> ApiKey | None:
    """The live key matching `plaintext`, or None (missing, unknown or revoked)."""
    if not plaintext or len(plaintext) > MAX_KEY_LENGTH:
        return None
    row = ApiKey.objects.filter(key_hash=hash_key(plaintext), revoked_at__isnull=True).first()
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)
    return row


def check_rate(key: ApiKey) -> None:
    """Raise RateLimited when the key made more than its per-minute limit of calls."""
    ratelimit.check(
        None,
        "open311_key",
        key=f"key:{key.pk}",
        limit=ratelimit.Limit(key.rate_limit, 60),
    )
