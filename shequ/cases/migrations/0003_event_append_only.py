"""Database-level guard: case timeline rows can be inserted, never updated.

DELETE is guarded by the ORM and by the PROTECT foreign key from cases (Django's test flush
deletes rows with DELETE on SQLite and TRUNCATE on PostgreSQL).
"""

from django.db import migrations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION cases_caseevent_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'cases_caseevent is append-only';
END;
$$ LANGUAGE plpgsql;
"""
PG_TRIGGER = """
CREATE TRIGGER cases_caseevent_no_update BEFORE UPDATE ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION cases_caseevent_guard();
"""
PG_REVERSE = [
    "DROP TRIGGER IF EXISTS cases_caseevent_no_update ON cases_caseevent;",
    "DROP FUNCTION IF EXISTS cases_caseevent_guard();",
]
SQLITE_TRIGGER = """
CREATE TRIGGER cases_caseevent_no_update BEFORE UPDATE ON cases_caseevent
BEGIN
    SELECT RAISE(ABORT, 'cases_caseevent is append-only');
END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS cases_caseevent_no_update;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)
        schema_editor.execute(PG_TRIGGER, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in PG_REVERSE:
            schema_editor.execute(statement, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_seed_categories")]

    operations = [migrations.RunPython(forwards, backwards)]
