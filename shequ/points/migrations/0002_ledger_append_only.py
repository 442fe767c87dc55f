"""Database-level immutability of the ledger and the volunteer records.

Transfers, entries, volunteer records and stock-in records are written once: UPDATE and DELETE
are refused on PostgreSQL (a reversal is a new transfer). On SQLite UPDATE is refused; DELETE is
guarded by the ORM only, because Django's test flush empties SQLite tables with DELETE (on
PostgreSQL it uses TRUNCATE, which row triggers do not see). Mirrors core 0002 (the audit log).
"""

from django.db import migrations

TABLES = ("points_transfer", "points_entry", "points_volunteerrecord", "points_stockin")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION points_immutable_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION points_immutable_guard();",
                params=None,
            )
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END;"
            )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};", params=None)
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable;")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS points_immutable_guard();", params=None)


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
