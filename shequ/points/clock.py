"""The points platform's notion of "now", which the demo seeder can set to write history.

Services read `now()`; `at(moment)` makes it return `moment` inside a `with` block (the demo
seeder uses it to write a year of ledger history through the ordinary services).
"""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_frozen: ContextVar[datetime | None] = ContextVar("points_now", default=None)


def now() -> datetime:
    return _frozen.get() or timezone.now()


def today():
    return timezone.localtime(now()).date()


@contextmanager
def at(moment: datetime):
    token = _frozen.set(moment)
    try:
        yield moment
    finally:
        _frozen.reset(token)
