"""Tasks used by the queue tests. They leave traces in files, so a test can see what ran even
when it ran in another process."""

import os
import time
from datetime import timedelta
from pathlib import Path

from django.tasks import task

from shequ.core import schedule


def _append(path: str, line: str) -> None:
    with open(path, "a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@task
def record(path: str, label: str) -> str:
    _append(path, f"{label} {os.getpid()}")
    return label


@task
def slow(path: str, label: str, seconds: float) -> str:
    _append(path, f"start {label} {os.getpid()}")
    time.sleep(seconds)
    _append(path, f"done {label} {os.getpid()}")
    return label


@task
def flaky(path: str, failures: int) -> int:
    """Fails the first `failures` times it runs, then succeeds."""
    runs = len(Path(path).read_text().splitlines()) if Path(path).exists() else 0
    _append(path, f"run {time.time():.3f}")
    if runs < failures:
        raise RuntimeError(f"planned failure {runs + 1}")
    return runs + 1


@task(priority=0)
def tick() -> None:
    _append(os.environ["SHEQU_TEST_TICK_FILE"], f"{time.time():.3f} {os.getpid()}")


# `worker --import tests.support.queue_tasks` registers the periodic job used by the two-worker test.
if os.environ.get("SHEQU_TEST_TICK_FILE"):
    schedule.register("tests.tick", tick, every=timedelta(seconds=1))
