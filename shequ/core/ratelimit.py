"""A small fixed-window rate limiter on Django's cache (Redis in production, so the limit is
shared by every web process; per process with the local-memory cache).

    from shequ.core import ratelimit
    ratelimit.check(request, "report")            # raises RateLimited (429) when over
    ratelimit.check(request, "open311_post", key=api_key)

Limits are named in settings.SHEQU_RATE_LIMITS ({"report": "20/h", …}: count per s/m/h/d); a
name without an entry is not limited. The default key is the client's IP address.

The counters live in the cache, outside every database transaction, so a rolled-back request
(Idempotency-Key on a failed call) keeps its hits; a database cache would lose them, which the
system check shequ.W003 refuses.
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from shequ.core.errors import ServiceError
from shequ.core.http import client_ip

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__(
            _("操作过于频繁，请 %(seconds)d 秒后再试。") % {"seconds": retry_after},
            details={"retry_after": retry_after},
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    count: int
    period: int


def parse(spec: str) -> Limit:
    count, _sep, unit = spec.partition("/")
    if not count.isdigit() or unit not in PERIODS:
        raise ValueError(f"bad rate limit {spec!r}; expected e.g. '20/h'")
    return Limit(int(count), PERIODS[unit])


def limit_for(name: str) -> Limit | None:
    spec = getattr(settings, "SHEQU_RATE_LIMITS", {}).get(name)
    return parse(spec) if spec else None


def hit(name: str, key: str, *, now: float | None = None, limit: Limit | None = None) -> int:
    """Count one event; return 0 when allowed, else seconds until the window resets.
    `limit` overrides the named limit (e.g. an Open311 key's own limit)."""
    limit = limit or limit_for(name)
    if limit is None or not getattr(settings, "SHEQU_RATE_LIMIT_ENABLED", True):
        return 0
    now = time.time() if now is None else now
    window = int(now // limit.period)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # no raw IPs/keys in cache keys
    cache_key = f"rl:{name}:{window}:{digest}"
    if cache.add(cache_key, 1, timeout=limit.period + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=limit.period + 1)
            count = 1
    if count > limit.count:
        return max(1, int((window + 1) * limit.period - now))
    return 0


def check(request, name: str, *, key: str | None = None, limit: Limit | None = None) -> None:
    """Raise RateLimited when `request` (or `key`) went over the limit called `name`."""
    retry_after = hit(name, key if key is not None else client_ip(request), limit=limit)
    if retry_after:
        raise RateLimited(retry_after)
