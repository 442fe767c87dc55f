"""Resident-registry benchmarks at city scale (1,000,000 residents, 350,000 households).

  python benchmarks/bench_people.py [--scale small|medium|city] [--db sqlite|postgres]
                                    [--rows 100000]

- seed: `seed_demo --scale <scale>` time and peak memory, as recorded when the benchmark
  database was seeded (benchmarks/common.py, var/bench/<scale>-<db>/seed.json).
- search: p50/p95 of one list page (capped count + 50 rows + tags) through the same selector
  the page uses, by name prefix (surname; surname + one given character; a full name) and by
  exact ID number, for a city operator (no scope filter), a community and a grid worker.
- import: a generated 100,000-row xlsx imported in one transaction (rolled back afterwards so
  the database is unchanged), against openpyxl's read-only parse of the same file alone.
- region browser: the resident counts added to the city's children table.
"""

import argparse
import io
import json
import random
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    configure,
    metric,
    missing,
    percentile,
    print_table,
    save,
    seed_figures,
    timed,
)

SEED_LINE = re.compile(r"people: ([\d.]+) s \(peak RSS (\d+) MB\)")
TOTAL_LINE = re.compile(r"完成：([\d.]+) s，峰值内存 (\d+) MB")


def bench_search(samples: int) -> list[dict]:
    from shequ.accounts.models import User
    from shequ.people.models import Person
    from shequ.people.selectors import PeopleFilter, people_page

    rng = random.Random(7)
    total = Person.objects.count()
    max_id = Person.objects.order_by("-id").values_list("id", flat=True).first()
    assert max_id is not None, "no people: seed the demo first"
    picks: list[Person] = []
    while len(picks) < samples:
        person = Person.objects.filter(id__gte=rng.randint(1, max_id)).order_by("id").first()
        if person is not None:
            picks.append(person)
    users = {name: User.objects.get(username=name) for name in ("city", "community", "grid")}
    metrics = [metric("people.residents", total, "people")]

    def run(label: str, user, queries: list[str], note: str) -> None:
        for q in queries[:10]:  # warm-up
            people_page(user, PeopleFilter(q=q))
        times = []
        for q in queries:
            started = time.perf_counter()
            people_page(user, PeopleFilter(q=q))
            times.append(time.perf_counter() - started)
        metrics.append(
            metric(f"people.search.{label}.p50", percentile(times, 50) * 1000, "ms", note=note)
        )
        metrics.append(
            metric(
                f"people.search.{label}.p95",
                percentile(times, 95) * 1000,
                "ms",
                target=200,
                note=note,
            )
        )

    surnames = [p.name[0] for p in picks]
    two = [p.name[:2] for p in picks]
    full = [p.name for p in picks]
    ids = [p.id_number for p in picks]
    city = users["city"]
    run(
        "city.surname",
        city,
        surnames,
        "name prefix of 1 character (e.g. 张): city operator, no scope filter",
    )
    run("city.two_chars", city, two, "name prefix of 2 characters: city operator")
    run("city.full_name", city, full, "a full name: city operator")
    run("city.exact_id", city, ids, "exact ID number through the keyed hash: city operator")
    run("city.first_page", city, [""] * len(picks), "first page, no search: city operator")
    community, grid = users["community"], users["grid"]
    run(
        "community.surname",
        community,
        surnames,
        "name prefix of 1 character: community staff (丹凤社区)",
    )
    run("grid.surname", grid, surnames, "name prefix of 1 character: grid worker")
    run("community.exact_id", community, ids, "exact ID (mostly outside the scope → 0 rows)")
    # Paging deep into a big result keeps the same cost (keyset, not OFFSET).
    page = people_page(city, PeopleFilter(q="王"))
    deep = []
    for _ in range(20):
        started = time.perf_counter()
        page = people_page(city, PeopleFilter(q="王"), after=page.next_cursor)
        deep.append(time.perf_counter() - started)
        if not page.next_cursor:
            break
    metrics.append(
        metric("people.search.city.page_20_of_王.p95", percentile(deep, 95) * 1000, "ms")
    )
    return metrics


def make_import_file(rows: int, community_code: str, grids: list[str]) -> bytes:
    from openpyxl import Workbook

    from shequ.core.idnumbers import make_id_number
    from shequ.demo.names import person_name

    rng = random.Random(11)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("居民信息")
    sheet.append(["丹凤社区实有人口台账"])
    sheet.append(
        [
            "姓名",
            "身份证号",
            "手机号码",
            "网格",
            "小区",
            "楼栋",
            "单元",
            "室号",
            "与房屋关系",
            "迁入日期",
            "标签",
        ]
    )
    start = date(1940, 1, 1)
    for i in range(rows):
        birth = start + timedelta(days=i // 400)
        male = i % 2 == 0
        number = make_id_number("110105", birth, (i % 400) * 2 + (1 if male else 0))
        building = i // 60
        sheet.append(
            [
                person_name(rng, "M" if male else "F"),
                number,
                f"1995{i:07d}",
                grids[building % len(grids)],
                f"测试小区{building // 50 + 1}",
                f"{building % 50 + 1}幢",
                str(i % 2 + 1),
                f"{(i // 4) % 15 + 1}{i % 2 + 1:02d}",
                "家庭成员",
                "2020-03-01",
                "高龄" if i % 97 == 0 else "",
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bench_import(rows: int) -> list[dict]:
    from django.db import transaction
    from openpyxl import load_workbook

    from shequ.demo import danyang
    from shequ.geo.models import Region
    from shequ.people.importing import import_file
    from shequ.people.models import Person

    grids = list(
        Region.objects.filter(code__startswith=danyang.FLAGSHIP_CODE, level="grid").values_list(
            "code", flat=True
        )
    )
    started = time.perf_counter()
    content = make_import_file(rows, danyang.FLAGSHIP_CODE, grids)
    generate = time.perf_counter() - started

    def parse_only():
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        for _row in book.worksheets[0].iter_rows(values_only=True):
            pass
        book.close()

    reference = min(timed(parse_only, 2))
    before = Person.objects.count()

    class Rollback(Exception):
        pass

    outcome = None
    started = time.perf_counter()
    try:
        with transaction.atomic():
            # The file names new estates and buildings (测试小区…): created as asked.
            outcome = import_file(
                content, actor=None, community_code=danyang.FLAGSHIP_CODE, create_missing=True
            )
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    assert outcome is not None and outcome.ok, outcome.problems[:5] if outcome else None
    assert outcome.created == rows, outcome
    assert Person.objects.count() == before
    started = time.perf_counter()
    dry = import_file(
        content,
        actor=None,
        community_code=danyang.FLAGSHIP_CODE,
        dry_run=True,
        create_missing=True,
    )
    validate = time.perf_counter() - started
    assert dry.ok
    return [
        metric(
            "people.import.file_mb",
            len(content) / 1e6,
            "MB",
            note=f"{rows} rows, generated in {generate:.1f} s",
        ),
        metric(
            "people.import.seconds",
            elapsed,
            "s",
            reference=reference,
            ratio_target=3,
            note=f"{rows} rows: read + validate + write in one transaction (rolled back); reference = openpyxl read-only parse alone",
        ),
        metric("people.import.rows_per_second", rows / elapsed, "rows/s"),
        metric(
            "people.import.dry_run_seconds",
            validate,
            "s",
            reference=reference,
            note="read + validate only",
        ),
        metric("people.import.openpyxl_parse_seconds", reference, "s"),
    ]


def bench_region_counts() -> list[dict]:
    from django.core.cache import cache

    from shequ.geo.models import Region
    from shequ.geo.selectors import region_children_with_counts

    city = Region.objects.get(level="city")
    township = Region.objects.get(code="321181001")
    community = Region.objects.get(code="321181001001")

    def cold(region):
        def run():
            cache.clear()
            region_children_with_counts(region)

        return min(timed(run, 3)) * 1000

    region_children_with_counts(city)
    return [
        metric(
            "people.region_browser.city_children.cold",
            cold(city),
            "ms",
            note="12 townships with counts of communities, grids, buildings, houses and residents; resident counts not cached yet",
        ),
        metric(
            "people.region_browser.city_children.warm",
            min(timed(lambda: region_children_with_counts(city), 3)) * 1000,
            "ms",
            note="resident counts cached (5 minutes) at city and township level",
        ),
        metric("people.region_browser.township_children.cold", cold(township), "ms"),
        metric(
            "people.region_browser.community_children",
            min(timed(lambda: region_children_with_counts(community), 3)) * 1000,
            "ms",
            note="always fresh",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=["small", "medium", "city"], default="city")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=None, help="default 100,000 (small: 10,000)")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--skip", default="", help="comma list: search,import,regions")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    configure(args.scale, args.db)
    figures = seed_figures(args.scale, args.db)
    if figures is None:
        why = "the benchmark database was seeded before seed figures were recorded"
        metrics = [missing("seed.total_seconds", "s", why), missing("seed.peak_rss", "MB", why)]
    else:
        metrics = [
            metric(
                "seed.total_seconds",
                figures["seconds"],
                "s",
                note="seed_demo --scale "
                + figures["scale"]
                + ": "
                + ", ".join(f"{k} {v:.0f} s" for k, v in figures["steps"].items()),
            ),
            metric("seed.peak_rss", figures["peak_rss_mb"], "MB", target=2048),
        ]
    if args.rows is None:
        args.rows = 10_000 if args.scale == "small" else 100_000
    if "search" not in skip:
        metrics += bench_search(args.samples)
    if "regions" not in skip:
        metrics += bench_region_counts()
    if "import" not in skip:
        metrics += bench_import(args.rows)
    if skip:  # a partial run updates the day's results instead of replacing them
        from benchmarks.common import RESULTS, run_date

        previous = RESULTS / f"{run_date()}-people-{args.scale}-{args.db}.json"
        if previous.exists():
            fresh = {m["metric"] for m in metrics}
            kept = [
                m for m in json.loads(previous.read_text())["metrics"] if m["metric"] not in fresh
            ]
            metrics = kept + metrics
    print_table(metrics)
    print("saved", save("people", args.scale, args.db, metrics))


if __name__ == "__main__":
    main()
