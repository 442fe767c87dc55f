"""Demo data for Open311: the demo application key (`demo-open311-key`, or
SHEQU_DEMO_OPEN311_KEY), with a limit high enough for load tests and permission to post updates.
"""

from django.conf import settings

from shequ.demo.seeding import SeedContext
from shequ.open311.keys import api_key_create, hash_key
from shequ.open311.models import ApiKey

SEED_ORDER = 60
DEMO_KEY_NAME = "demo"
DEMO_RATE_LIMIT = 100_000  # per minute: load tests run against the demo


def demo_key() -> str:
    return settings.SHEQU_DEMO_OPEN311_KEY


def ensure_demo_key():
    """Create the demo key if missing (idempotent); returns the key row."""
    existing = ApiKey.objects.filter(key_hash=hash_key(demo_key())).first()
    if existing is not None:
        return existing
    row, _plaintext = api_key_create(
        name=DEMO_KEY_NAME,
        key=demo_key(),
        rate_limit=DEMO_RATE_LIMIT,
        can_post_updates=True,
        contact="演示环境",
    )
    return row


def seed(ctx: SeedContext) -> None:
    ensure_demo_key()
    ctx.log(f"  open311: demo key {demo_key()}")
