"""Security state that no rollback of the request can undo.

Login failures and lockouts (django-axes), code-guess counters (check-in codes), the record that
a TOTP code was used, and audit rows of refused actions must survive the request that caused
them — even when that request runs inside a transaction that is rolled back as a whole. Two
things roll requests back: the Idempotency-Key layer (every non-2xx answer, so that a failed
request changes nothing) and a service's own `transaction.atomic` when it raises. A counter
written inside either used to be rolled back with it: eight wrong passwords, each sent with a
fresh Idempotency-Key, never locked the account.

    from shequ.core.durable import durable_write
    durable_write(lambda: CheckinCodeFailure.objects.filter(pk=pk).update(failures=F("failures") + 1))

`durable_write(write)` runs `write` at once (the rest of the request sees its effect). Outside a
transaction that is the end of it. Inside one, it remembers `write` until the transaction that
holds it commits; if that transaction (or the savepoint around it) is rolled back instead,
`write` runs again at the next `replay_rolled_back()` — which the idempotency layer calls after
its transaction and `DurableWritesMiddleware` calls at the end of every request. So a write is
applied exactly once: either its first run commits, or it was undone and runs again.

How "undone" is known: each remembered write registers a marker with `transaction.on_commit`.
Django drops on-commit callbacks of a savepoint or transaction that rolls back, and runs them
after a commit; a remembered write whose marker has neither run nor is still waiting was
rolled back. This works the same on SQLite and PostgreSQL and inside test transactions.

Used by: shequ.accounts.lockout (login failures), shequ.accounts.second_factor (used TOTP
steps), shequ.core.checkin (check-in code failures, for every app), shequ.core.audit
(`audit_refusal`). A write must be safe to run again after a rollback (an increment, an insert
or an update of the current value — all are, because the first run left no trace).
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class _Pending:
    write: Callable[[], object]
    committed: bool = False
    marker: Callable[[], None] = field(init=False)

    def __post_init__(self) -> None:
        def marker() -> None:
            self.committed = True

        self.marker = marker


def _pending() -> list[_Pending] | None:
    # The connection object is per thread (and per async task), so is this list. None outside
    # a durable scope (a request, a task): there the write simply runs once.
    return getattr(connection, "_shequ_durable_writes", None)


def _waiting(entry: _Pending) -> bool:
    """Is the entry's marker still queued to run on commit (its transaction still open)?"""
    return any(func is entry.marker for _sids, func, _robust in connection.run_on_commit)


def durable_write[T](write: Callable[[], T]) -> T:
    """Run `write` now, and again later if a rollback undoes it (see the module docstring).
    Returns what the first run returned."""
    result = write()
    pending = _pending()
    if pending is not None and connection.in_atomic_block:
        entry = _Pending(write)
        pending.append(entry)
        transaction.on_commit(entry.marker, robust=True)
    return result


def replay_rolled_back() -> int:
    """Run again the remembered writes that a rollback undid; forget the committed ones.
    Writes whose transaction is still open stay remembered. Returns how many ran again."""
    pending = _pending()
    if not pending:
        return 0
    replayed = 0
    for entry in list(pending):
        if entry.committed:
            pending.remove(entry)
        elif not _waiting(entry):
            pending.remove(entry)
            try:
                durable_write(entry.write)
            except Exception:
                # Never turn the answer into a 500; the failure is loud in the log.
                logger.exception("security state could not be written again after a rollback")
                continue
            replayed += 1
    return replayed


@contextmanager
def durable_scope() -> Iterator[None]:
    """A unit of work (a request, a task) whose security writes survive its rollbacks.

    At the end, undone writes run again; writes whose transaction outlives the scope (a test's
    own transaction) are left to that transaction."""
    outer = _pending()
    connection._shequ_durable_writes = []
    try:
        yield
    finally:
        try:
            replay_rolled_back()
        finally:
            connection._shequ_durable_writes = outer


class DurableWritesMiddleware:
    """Outermost middleware: every request is a durable scope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with durable_scope():
            return self.get_response(request)
