"""Geo and shell benchmarks: locate() with the city's ≈1,000 grids, and role home pages.

  python benchmarks/bench_geo.py [--scale small|city] [--db sqlite|postgres]

locate: the median of single calls (µs), and batch throughput (points/s) of locate_many next to
shapely's own vectorised STRtree query on the same projected polygons and points (the
reference). Home pages: server time per role through Django's test client (no network), after
warm-up.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import configure, metric, percentile, print_table, save, timed


def bench_locate(points: int) -> list[dict]:
    import shapely

    from shequ.core.regions import Level
    from shequ.geo.locate import get_index, locate, locate_many
    from shequ.geo.models import Region

    grids = Region.objects.filter(level=Level.GRID).count()
    index = get_index()
    rng = random.Random(1)
    minx, miny, maxx, maxy = 119.40, 31.72, 119.90, 32.14
    lats = [rng.uniform(miny, maxy) for _ in range(points)]
    lngs = [rng.uniform(minx, maxx) for _ in range(points)]

    singles = [lats[i] for i in range(2000)], [lngs[i] for i in range(2000)]
    for i in range(200):  # warm-up
        locate(singles[0][i], singles[1][i])
    samples = []
    for lat, lng in zip(*singles, strict=True):
        started = time.perf_counter()
        locate(lat, lng)
        samples.append(time.perf_counter() - started)
    single_us = statistics.median(samples) * 1e6

    locate_many(lats[:1000], lngs[:1000])
    ours = min(timed(lambda: locate_many(lats, lngs), 3))
    x, y = index.projection.xy(lats, lngs)

    def shapely_from_coordinates():
        return index.tree.query(shapely.points(x, y), predicate="intersects")

    reference = min(timed(shapely_from_coordinates, 3))
    pts = shapely.points(x, y)
    query_only = min(timed(lambda: index.tree.query(pts, predicate="intersects"), 3))
    ours_rate = points / ours
    return [
        metric("geo.grids", grids, "grids"),
        metric("geo.locate.single_median", single_us, "µs", note="one call, WGS-84"),
        metric(
            "geo.locate.batch",
            ours_rate,
            "points/s",
            reference=points / reference,
            target=200_000,
            ratio_target=0.5,
            higher_is_better=True,
            note="locate_many (WGS-84 in, codes out) vs shapely.points + "
            "STRtree.query(predicate='intersects') on the same projected coordinates",
        ),
        metric(
            "geo.locate.batch_vs_query_only",
            ours_rate,
            "points/s",
            reference=points / query_only,
            higher_is_better=True,
            note="reference: STRtree.query on prebuilt shapely points only",
        ),
        metric("geo.locate.single_p95", percentile(samples, 95) * 1e6, "µs"),
    ]


def bench_homes(repeat: int) -> list[dict]:
    from django.test import Client

    from shequ.accounts.models import User

    results = []
    for username in ("resident", "grid", "community", "township", "city", "property"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        for _ in range(3):
            assert client.get("/").status_code == 200
        samples = timed(lambda c=client: c.get("/"), repeat)
        results.append(
            metric(
                f"http.home.{username}.p95",
                percentile(samples, 95) * 1000,
                "ms",
                note=f"p50 {percentile(samples, 50) * 1000:.1f} ms",
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    configure(args.scale, args.db)
    metrics = bench_locate(args.points) + bench_homes(args.repeat)
    print_table(metrics)
    print("saved", save("geo", args.scale, args.db, metrics))


if __name__ == "__main__":
    main()
