"""The small scale: every simulated case with its whole timeline and ratings (bulk_create), then
photos for recent flagship cases, a follow, a pending extension and the demo grid worker's inbox."""

import datetime as dt
import io
import time

from django.utils import timezone
from PIL import Image, ImageDraw

from shequ.cases import evidence
from shequ.cases.demo.bulk import reset_sequences
from shequ.cases.demo.inbox import work_for_the_demo_grid_worker
from shequ.cases.demo.patterns import SimCase
from shequ.cases.demo.simulation import Simulator
from shequ.cases.models import (
    CONTACT_PHONE_CONTEXT,
    Case,
    CaseEvent,
    CaseFollow,
    CaseRating,
)
from shequ.cases.services._common import store_photos
from shequ.cases.workflow import PhotoKind
from shequ.core.crypto import blind_index
from shequ.demo.seeding import SeedContext


def _case_model(sim: SimCase, pk: int, aware) -> Case:
    fields = {k: aware(v) for k, v in sim.fields.items()}
    phone = fields["contact_phone"]
    return Case(
        pk=pk,
        updated_at=fields["reported_at"],
        contact_phone_hash=blind_index(phone, context=CONTACT_PHONE_CONTEXT) if phone else "",
        **fields,
    )


def seed_small(ctx: SeedContext, simulator: Simulator) -> None:
    started = time.perf_counter()
    aware = simulator.aware
    next_id = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    codes: dict[str, int] = {}
    cases, events, ratings = [], [], []
    for pk, sim in enumerate(simulator.cases(), start=next_id):
        codes[sim.fields["code"]] = pk
        target = sim.fields.get("merged_into_id")
        if target is not None:
            sim.fields["merged_into_id"] = codes[target]
        cases.append(_case_model(sim, pk, aware))
        events += [CaseEvent(case_id=pk, **{k: aware(v) for k, v in e.items()}) for e in sim.events]
        ratings += [
            CaseRating(case_id=pk, **{k: aware(v) for k, v in r.items()}) for r in sim.ratings
        ]
    Case.objects.bulk_create(cases, batch_size=500)
    CaseEvent.objects.bulk_create(events, batch_size=2000)
    CaseRating.objects.bulk_create(ratings, batch_size=2000, ignore_conflicts=True)
    reset_sequences()
    extras = _demo_extras(ctx, simulator)
    ctx.log(
        f"    {len(cases)} cases, {len(events)} timeline rows, {len(ratings)} ratings, "
        f"{extras} photos ({time.perf_counter() - started:.1f} s)"
    )


def _demo_extras(ctx: SeedContext, simulator: Simulator) -> int:
    """Photos for recent cases of the flagship grids, a follow, and open cases for the demo
    accounts (a pending extension, something to verify)."""
    rng = ctx.rng("case-photos")
    flagship = simulator._flagship_grids()[:2]
    recent = timezone.now() - dt.timedelta(days=60)
    photos = 0
    candidates = (
        Case.objects.filter(
            region_code__in=flagship, reported_at__gte=recent, category__photo_required=True
        )
        .exclude(channel__in=["hotline", "phone", "walk_in"])
        .order_by("reported_at")
        .prefetch_related("events__actor")[:40]
    )
    for case in candidates:
        for event in case.events.all():
            kind = {"report": PhotoKind.REPORT, "handle": PhotoKind.HANDLE}.get(event.action)
            if kind is None:
                continue
            checked = evidence.check_photo(_demo_image(rng, after=kind == PhotoKind.HANDLE))
            store_photos(
                [checked],
                case=case,
                event=event,
                kind=kind,
                actor=event.actor,
                now=event.at,
                stored=[],
            )
            photos += 1
    actors = simulator.actors
    if actors.resident:
        other = (
            Case.objects.filter(
                region_code=actors.resident_grid, status__in=["dispatched", "accepted"]
            )
            .exclude(reporter_id=actors.resident[0])
            .order_by("code")
            .first()
        )
        if other is not None:
            CaseFollow.objects.get_or_create(case=other, user_id=actors.resident[0])
            Case.objects.filter(pk=other.pk).update(follower_count=1)
    pending = (
        Case.objects.filter(
            region_code__in=flagship, status="accepted", extension_requested__isnull=True
        )
        .order_by("code")
        .first()
    )
    if pending is not None:
        Case.objects.filter(pk=pending.pk).update(
            extension_requested=1, extension_reason="需协调环卫清运车辆"
        )
    work_for_the_demo_grid_worker(actors)
    return photos


def _demo_image(rng, after: bool) -> bytes:
    """A synthetic scene: a street with (before) or without (after) a pile of rubbish."""
    image = Image.new("RGB", (640, 480), (150 + rng.randrange(40), 190, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 300, 640, 480], fill=(110, 110, 110))
    draw.rectangle([40, 120, 260, 300], fill=(200, 180, 150))
    draw.rectangle([360, 80, 600, 300], fill=(190, 170, 140))
    for _ in range(0 if after else 18):
        x, y = rng.randrange(150, 500), rng.randrange(320, 430)
        r = rng.randrange(10, 30)
        draw.ellipse(
            [x - r, y - r, x + r, y + r], fill=(rng.randrange(60, 120), rng.randrange(60, 100), 40)
        )
    if after:
        draw.rectangle([280, 340, 360, 420], fill=(40, 120, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()
