"""The demo-data pipeline. Each app may provide `<app>/demo.py` with `SEED_ORDER` (int) and
`seed(ctx)`; `seed_demo` runs them in order. Every seeder draws from its own random stream
(`ctx.rng(name)`), so adding a seeder never changes what the others produce.
"""

import random
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.apps import apps
from django.db import transaction

from shequ.accounts.models import Assignment, User
from shequ.geo.models import Building, Estate, House, Region

SCALES = ("small", "medium", "city")  # medium: city geography, one tenth of the volume


@dataclass
class SeedContext:
    scale: str = "small"
    seed: int = 20240601
    log: Callable[[str], None] = print
    data: dict[str, Any] = field(default_factory=dict)  # shared between seeders
    timings: dict[str, float] = field(default_factory=dict)

    def rng(self, stream: str) -> random.Random:
        return random.Random(f"shequ-demo:{self.seed}:{self.scale}:{stream}")


def discover() -> list[tuple[int, str, Callable[[SeedContext], None]]]:
    seeders = []
    for config in apps.get_app_configs():
        if not config.name.startswith("shequ."):
            continue
        try:
            module = import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
            continue
        seeders.append((module.SEED_ORDER, config.label, module.seed))
    return sorted(seeders, key=lambda s: (s[0], s[1]))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(ctx: SeedContext, only: set[str] | None = None) -> SeedContext:
    for _order, label, seed in discover():
        if only and label not in only:
            continue
        started = time.perf_counter()
        with transaction.atomic():
            seed(ctx)
        ctx.timings[label] = time.perf_counter() - started
        ctx.log(f"  {label}: {ctx.timings[label]:.1f} s (peak RSS {peak_rss_mb():.0f} MB)")
    return ctx


def digest_querysets():
    """(label, rows) pairs that together identify the seeded data; apps may add theirs with a
    module-level DIGEST function in their demo.py returning more pairs."""
    yield (
        "regions",
        Region.objects.order_by("code").values_list(
            "code", "name", "kind", "polygon", "centroid_lat", "centroid_lng"
        ),
    )
    yield (
        "estates",
        Estate.objects.order_by("region_code", "name").values_list(
            "region_code", "name", "kind", "property_company__name"
        ),
    )
    yield (
        "buildings",
        Building.objects.order_by("code").values_list(
            "code", "address", "lat", "lng", "floors", "units"
        ),
    )
    yield "houses", House.objects.order_by("code").values_list("code", "unit", "floor", "room")
    yield "users", User.objects.order_by("username").values_list("username", "full_name")
    yield (
        "assignments",
        Assignment.objects.order_by("user__username", "role").values_list(
            "user__username", "role", "region__code", "property_company__name"
        ),
    )
    for config in apps.get_app_configs():
        if not config.name.startswith("shequ."):
            continue
        try:
            module = import_module(f"{config.name}.demo")
        except ModuleNotFoundError:
            continue
        if hasattr(module, "DIGEST"):
            yield from module.DIGEST()
