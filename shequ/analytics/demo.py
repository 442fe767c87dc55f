"""Demo early warnings: the warning rules run once over the seeded cases (as the hourly job
would), so the cockpit opens with warning cards. "Now" is the demo's now (start of today)."""

from django.utils import timezone

from shequ.analytics.services import warnings_refresh
from shequ.demo.seeding import SeedContext

SEED_ORDER = 60  # after the cases (40)


def seed(ctx: SeedContext) -> None:
    now = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    result = warnings_refresh(now=now)
    ctx.log(f"    warnings: {result['created']} (spikes and repeat locations)")
