"""Database-level append-only guard for the audit log.

UPDATE is refused on both databases. DELETE is refused on PostgreSQL unless the row is older
than the retention period (180 days), which is the only purge path; on SQLite, deletion is
guarded by the ORM only (Django's test flush deletes rows with DELETE on SQLite).
"""

from django.db import migrations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION core_auditevent_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'core_auditevent is append-only';
    END IF;
    IF TG_OP = 'DELETE' AND OLD.at > now() - interval '180 days' THEN
        RAISE EXCEPTION 'core_auditevent rows are kept for at least 180 days';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
"""
PG_TRIGGER = """
CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION core_auditevent_guard();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS core_auditevent_no_update ON core_auditevent;
DROP FUNCTION IF EXISTS core_auditevent_guard();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent
BEGIN
    SELECT RAISE(ABORT, 'core_auditevent is append-only');
END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS core_auditevent_no_update;"


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
        for statement in PG_REVERSE.strip().splitlines():
            schema_editor.execute(statement, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
