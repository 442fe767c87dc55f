"""The city-scale bulk path: cases with an abbreviated timeline streamed into the database —
COPY on PostgreSQL (indexes dropped and rebuilt), batched inserts elsewhere."""

import collections
import csv
import itertools
import json
import tempfile
import time

from django.db import connection

from shequ.cases.demo.patterns import SimCase
from shequ.cases.demo.simulation import Simulator
from shequ.cases.models import CONTACT_PHONE_CONTEXT, Case, CaseEvent
from shequ.cases.workflow import Status
from shequ.core.crypto import blind_index, encrypt
from shequ.demo.seeding import SeedContext, peak_rss_mb


def reset_sequences() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("cases_case", "cases_caseevent", "cases_caserating"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )


CASE_COLUMNS = [
    "id", "code", "category_id", "channel", "source_ref", "client", "device_id", "media_url",
    "status", "priority", "description", "attributes", "lat", "lng", "address", "building_id",
    "region_code", "near_grids", "reporter_id", "contact_name", "contact_phone",
    "contact_phone_hash", "handler_type", "handler_unit_code", "handler_company_id",
    "handler_id", "escalation_level", "supervised", "reported_at", "registered_at",
    "dispatched_at", "accepted_at", "handled_at", "closed_at", "voided_at", "due_at", "step",
    "step_started_at", "step_warn_at", "step_due_at", "escalate_at", "sla_level",
    "extension_requested", "extension_reason", "extension_count", "rework_count",
    "reopen_count", "handling_seconds", "satisfaction", "void_reason", "merged_into_id",
    "follower_count", "version", "updated_at",
]  # fmt: skip
EVENT_COLUMNS = [
    "id", "case_id", "at", "action", "from_status", "to_status", "actor_id", "actor_name",
    "actor_role", "note", "public", "data",
]  # fmt: skip


def _case_values(sim: SimCase, pk: int, aware) -> dict:
    f = sim.fields
    return {
        **{k: aware(v) for k, v in f.items()},
        "id": pk,
        "client": "",
        "device_id": "",
        "media_url": "",
        "attributes": json.dumps(f["attributes"], ensure_ascii=False),
        "near_grids": "[]",
        "contact_phone_hash": "",
        "follower_count": 0,
        "version": 0,
        "updated_at": aware(f["reported_at"]),
    }


def seed_bulk(ctx: SeedContext, simulator: Simulator) -> None:
    """Cases (with an abbreviated timeline) streamed into the database: COPY on PostgreSQL,
    batched inserts elsewhere. Secondary indexes are dropped during the load and rebuilt."""
    started = time.perf_counter()
    aware = simulator.aware
    next_id = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    next_event = (CaseEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    codes: dict[str, int] = {}
    event_ids = itertools.count(next_event)
    total = simulator.n

    def rows():
        recent: collections.deque = collections.deque()  # (reported, code) of the last week
        for pk, sim in enumerate(simulator.cases(), start=next_id):
            reported = sim.fields["reported_at"]
            while recent and (reported - recent[0][0]).days > 7:
                codes.pop(recent.popleft()[1], None)
            target = sim.fields.get("merged_into_id")
            if target is not None:
                sim.fields["merged_into_id"] = codes.get(target)
                if sim.fields["merged_into_id"] is None:  # pragma: no cover - a stale target
                    sim.fields["status"] = Status.VOIDED
                    sim.fields["void_reason"] = "重复上报"
            codes[sim.fields["code"]] = pk
            recent.append((reported, sim.fields["code"]))
            events = sim.events
            kept = events if len(events) <= 2 else [events[0], events[-1]]
            yield (
                _case_values(sim, pk, aware),
                [
                    (
                        next(event_ids),
                        pk,
                        aware(e["at"]),
                        e["action"],
                        e["from_status"],
                        e["to_status"],
                        e["actor_id"],
                        e["actor_name"],
                        e["actor_role"],
                        e["note"],
                        e["public"],
                        "{}",
                    )
                    for e in kept
                ],
            )
            if (pk - next_id + 1) % 500_000 == 0:
                ctx.log(
                    f"    {pk - next_id + 1:,}/{total:,} cases, "
                    f"{time.perf_counter() - started:.0f} s, peak RSS {peak_rss_mb():.0f} MB"
                )

    load = _copy_postgres if connection.vendor == "postgresql" else _insert_batches
    count = load(rows())
    reset_sequences()
    ctx.log(
        f"    {count:,} cases in {time.perf_counter() - started:.0f} s "
        f"(peak RSS {peak_rss_mb():.0f} MB)"
    )


def _copy_postgres(rows) -> int:
    """COPY the cases while spooling their timeline rows to a temporary CSV file, then COPY
    that (the events' foreign key needs the cases first, on the same connection)."""
    with connection.cursor() as cursor:
        # Foreign keys are deferred by default: check them row by row instead of queueing
        # millions of trigger events (which would also forbid rebuilding the indexes).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('cases_case', 'cases_caseevent') AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid IN "
            "('cases_case'::regclass, 'cases_caseevent'::regclass))"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        count = 0
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
            writer = csv.writer(spool, quoting=csv.QUOTE_NOTNULL)
            columns = ", ".join(CASE_COLUMNS)
            with raw.copy(f"COPY cases_case ({columns}) FROM STDIN") as copy:
                for values, events in rows:
                    phone = values["contact_phone"]
                    if phone:
                        values["contact_phone"] = encrypt(phone, context=CONTACT_PHONE_CONTEXT)
                        values["contact_phone_hash"] = blind_index(
                            phone, context=CONTACT_PHONE_CONTEXT
                        )
                    copy.write_row(tuple(values[c] for c in CASE_COLUMNS))
                    writer.writerows(events)
                    count += 1
            spool.seek(0)
            columns = ", ".join(EVENT_COLUMNS)
            with raw.copy(f"COPY cases_caseevent ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
                while chunk := spool.read(1 << 20):
                    copy.write(chunk)
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("ANALYZE cases_case")
        cursor.execute("ANALYZE cases_caseevent")
    return count


def _insert_batches(rows) -> int:
    """The portable bulk path (SQLite): batched inserts through the ORM."""
    count = 0
    cases, events = [], []
    for values, event_rows in rows:
        values = {**values, "attributes": json.loads(values["attributes"]), "near_grids": []}
        if values["contact_phone"]:
            values["contact_phone_hash"] = blind_index(
                values["contact_phone"], context=CONTACT_PHONE_CONTEXT
            )
        cases.append(Case(**values))
        events += [
            CaseEvent(**{**dict(zip(EVENT_COLUMNS, e, strict=True)), "data": {}})
            for e in event_rows
        ]
        count += 1
        if len(cases) >= 5000:
            Case.objects.bulk_create(cases)
            CaseEvent.objects.bulk_create(events)
            cases, events = [], []
    if cases:
        Case.objects.bulk_create(cases)
        CaseEvent.objects.bulk_create(events)
    return count
