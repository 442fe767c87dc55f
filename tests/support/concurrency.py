"""Real threads for the concurrency tests (points, cases, deadlines): start them at once and
report how each ended."""

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


def run_together(*callables):
    """Run the callables in threads released at once (each with its own connection); return
    each one's result or the exception it raised, in order."""
    barrier = threading.Barrier(len(callables))
    results: list = [None] * len(callables)

    def worker(index, fn):
        try:
            barrier.wait(timeout=10)
            results[index] = fn()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
