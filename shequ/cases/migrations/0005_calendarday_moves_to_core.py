"""The working calendar's table moves to the core app (shequ/core/calendar.py is its home now).

State only: the table `cases_calendarday` and its rows stay where they are; core's migration
0004 takes the model over under the same table name."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_case_description_masked_original"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CalendarDay")],
            database_operations=[],
        ),
    ]
