"""PostgreSQL only: the list indexes over `COLLATE "C"` expressions.

Lists filter a prefix range and order by the same column (region code for browsing, name for a
name search). Under a "C.UTF-8" or ICU database collation PostgreSQL can use neither a plain
b-tree for the prefix nor a pattern-ops index for ORDER BY, and ends up scanning in index
order while filtering (hundreds of ms at a million rows). The selectors compare `field COLLATE
"C"` (byte order, like SQLite) and these indexes answer range and order at once."""

from django.db import migrations

INDEXES = [
    (
        "people_person_region_bytes",
        'people_person ((region_code COLLATE "C"), id, status)',
    ),
    (
        "people_person_name_bytes",
        'people_person ((name COLLATE "C"), id, region_code, status)',
    ),
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
    dependencies = [("people", "0004_covering_list_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
