"""The working calendar's overrides (CalendarDay) join the core app, without moving a row.

State only for the table: the model keeps `db_table = "cases_calendarday"`, the table the cases
app created (cases 0001), so existing databases keep their local holidays and 调休 days. The
content type is relabelled so the admin's permissions and log entries follow the model."""

from django.db import migrations, models


def relabel(apps, schema_editor, *, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    rows = content_type.objects.using(schema_editor.connection.alias)
    if not rows.filter(app_label=new, model="calendarday").exists():
        rows.filter(app_label=old, model="calendarday").update(app_label=new)


def forwards(apps, schema_editor):
    relabel(apps, schema_editor, old="cases", new="core")


def backwards(apps, schema_editor):
    relabel(apps, schema_editor, old="core", new="cases")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0003_checkin_codes_and_registrations"),
        ("cases", "0005_calendarday_moves_to_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CalendarDay",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("date", models.DateField(unique=True, verbose_name="日期")),
                        ("is_workday", models.BooleanField(verbose_name="工作日")),
                        (
                            "note",
                            models.CharField(blank=True, max_length=100, verbose_name="说明"),
                        ),
                    ],
                    options={
                        "verbose_name": "工作日历调整",
                        "verbose_name_plural": "工作日历调整",
                        "db_table": "cases_calendarday",
                        "ordering": ["-date"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
