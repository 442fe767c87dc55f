"""PostgreSQL only: prefix searches (LIKE 'x%') use an index only with a pattern operator class
when the database collation is not C. SQLite needs nothing here: the selectors turn a name
prefix into a range on the plain (name, id) index, and region prefixes are ranges as well."""

from django.db import migrations

INDEXES = [
    ("people_person_name_pattern", "people_person (name varchar_pattern_ops)"),
    ("people_person_region_pattern", "people_person (region_code varchar_pattern_ops, id)"),
    ("people_houselink_region_pattern", "people_houselink (region_code varchar_pattern_ops)"),
    ("people_household_region_pattern", "people_household (region_code varchar_pattern_ops)"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _target in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
