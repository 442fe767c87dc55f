"""The bulk path for large writes (Excel imports, city-scale demo data).

Rows get their primary keys up front and go to the database with one prepared INSERT per batch
(`executemany`), skipping the ORM's per-object SQL compilation — the slowest part of
`bulk_create` at 100,000 rows. Values are still prepared by each field (`get_db_prep_save`), so
encryption, hashing inputs and date adaptation are exactly the ORM's.

Keys are reserved safely under concurrency: on PostgreSQL from the table's own sequence
(`nextval` once per row, in one statement); on SQLite the caller's write transaction holds the
database's single write lock (transactions start IMMEDIATE), so max(id) + 1 … cannot be taken by
anyone else, and AUTOINCREMENT's counter follows explicit ids.
"""

from django.db import connection

BATCH = 5000


def reserve_ids(model, count: int) -> list[int]:
    """`count` fresh primary keys for `model` (inside the caller's transaction)."""
    if count == 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT MAX({quote(column)}) FROM {quote(table)}")  # noqa: S608
        last = cursor.fetchone()[0] or 0
    return list(range(last + 1, last + 1 + count))


def insert(model, objs: list) -> None:
    """INSERT `objs` (model instances) with reserved keys; sets `pk` on each."""
    if not objs:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("bulk.insert must run inside a transaction")
    for obj, pk in zip(objs, reserve_ids(model, len(objs)), strict=True):
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        obj.pk = pk
        obj._state.adding = False
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    # Table and column names come from the model (quoted); values are parameters.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    for begin in range(0, len(objs), BATCH):
        rows = [
            [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
            for obj in objs[begin : begin + BATCH]
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
