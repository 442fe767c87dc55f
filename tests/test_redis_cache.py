"""Production's shared cache is Redis (SHEQU_CACHE_URL): rate limits and kept cockpit results
work against a real Redis server (this machine kind runs one; CI requires it)."""

import os
import uuid

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings

from shequ.core import ratelimit

REDIS_URL = os.environ.get("SHEQU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI ({REDIS_URL})")
        pytest.skip(f"no Redis at {REDIS_URL}")


@pytest.fixture
def redis_cache():
    require_redis()
    prefix = f"shequ-test-{uuid.uuid4().hex[:8]}"
    config = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    with override_settings(CACHES=config, SHEQU_RATE_LIMIT_ENABLED=True):
        yield caches["default"]
        caches["default"].clear()


def test_rate_limit_counts_in_redis_and_resets_with_the_window(redis_cache):
    limit = ratelimit.Limit(count=3, period=60)
    key = uuid.uuid4().hex
    now = 1_800_000_000.0  # the start of a window
    answers = [ratelimit.hit("t", key, now=now + i, limit=limit) for i in range(5)]
    assert answers[:3] == [0, 0, 0]
    assert answers[3] > 0 and answers[4] > 0
    assert ratelimit.hit("t", key, now=now + 61, limit=limit) == 0  # the next window
