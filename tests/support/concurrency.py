"""Real threads for the concurrency tests (tests/test_points_concurrency.py,
tests/test_points_redeem_locking.py): start them at once, count how each ended."""

import threading
from collections import Counter

from django.db import connections

from shequ.core.errors import ServiceError


def run_threads(count: int, action) -> Counter:
    """Start `count` threads at once (a barrier); return a Counter of their outcomes."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait()
            action(index)
            result = "ok"
        except ServiceError as error:
            result = error.code
        except Exception as error:
            result = f"unexpected: {error!r}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(outcomes)
