"""queue: throughput of the database task queue with several workers (issue 13.5).

  python benchmarks/bench_queue.py [--scale small|medium|city] [--db sqlite|postgres]
                                   [--tasks 20000] [--workers 4]

Enqueues `--tasks` no-op tasks (benchmarks/queue_tasks.py) in batches of 500 per transaction,
as a busy request path would, then starts `--workers` worker processes (`manage.py worker
--burst --no-periodic`, the real claim/lease/complete path with its FOR UPDATE SKIP LOCKED on
PostgreSQL) and times them until the queue is empty. Reports enqueue rate and drain rate in
tasks/s. Small scale enqueues 500 tasks (CI). No target: the figure says how far one database
queue goes (docs/performance.md, "The task queue").
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, configure, metric, print_table, save

BATCH = 500


def bench(args) -> list[dict]:
    import os

    from django.db import transaction
    from django.tasks import TaskResultStatus

    from benchmarks.queue_tasks import noop
    from shequ.queue.backends.database import DatabaseBackend
    from shequ.queue.models import QueuedTask

    backend = DatabaseBackend("default", {"OPTIONS": {"POLL_SECONDS": 0}})
    QueuedTask.objects.filter(task_path="benchmarks.queue_tasks.noop").delete()
    started = time.perf_counter()
    for first in range(0, args.tasks, BATCH):
        with transaction.atomic():
            for n in range(first, min(first + BATCH, args.tasks)):
                backend.enqueue(noop, [n], {})
    enqueue_seconds = time.perf_counter() - started

    env = {**os.environ, "SHEQU_QUEUE_POLL_SECONDS": "0"}
    command = [sys.executable, str(ROOT / "manage.py"), "worker", "--burst", "--no-periodic"]
    started = time.perf_counter()
    workers = [
        subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(args.workers)
    ]
    codes = [worker.wait(timeout=1800) for worker in workers]
    drain_seconds = time.perf_counter() - started
    rows = QueuedTask.objects.filter(task_path="benchmarks.queue_tasks.noop")
    done = rows.filter(status=TaskResultStatus.SUCCESSFUL).count()
    left = rows.exclude(status=TaskResultStatus.SUCCESSFUL).count()
    note = (
        f"{args.tasks:,} no-op tasks, {args.workers} worker processes (--burst), "
        f"{done:,} done, {left} not done, worker exit codes {codes}; the drain time includes "
        "the workers' start-up (≈ 1–2 s each on this machine)"
    )
    drain = metric(
        "queue.drain", done / drain_seconds if done == args.tasks else None, "tasks/s", note=note
    )
    drain["expected"] = True
    return [
        drain,
        metric(
            "queue.enqueue", args.tasks / enqueue_seconds, "tasks/s", note=f"batches of {BATCH}"
        ),
        metric("queue.workers", args.workers, "processes"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small", choices=["small", "medium", "city"])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--tasks", type=int, default=None, help="default 20,000 (small 500)")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    args.tasks = args.tasks or (500 if args.scale == "small" else 20_000)
    configure(args.scale, args.db)
    metrics = bench(args)
    print_table(metrics)
    print("saved", save("queue", args.scale, args.db, metrics))


if __name__ == "__main__":
    main()
