"""Seed the shipped category tree (production configuration): ten 大类, forty 小类 with their
time limits, handler types, ladders and Open311-shaped attributes. Idempotent; never overwrites
categories edited in the admin."""

from django.db import migrations


def forwards(apps, schema_editor):
    from shequ.cases.categories import sync_categories

    sync_categories(apps.get_model("cases", "Category"), apps.get_model("cases", "CategoryAttribute"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
