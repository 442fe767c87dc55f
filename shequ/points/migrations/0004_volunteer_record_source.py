"""Volunteer records name their source: one record per (source_type, source_id, person).

Participation credit (`services.credit.participation_credit`) writes every volunteer record,
for the points platform's task claims and for the apps that follow (meetings, activities,
三会一课, care visits). Existing rows are claims: source "points.claim" with the claim's id,
and the task's title as the service item. `claim` and `task` become optional.

The table is append-only (0002's triggers refuse UPDATE). The backfill needs one UPDATE, and on
SQLite altering a column rebuilds the table, which drops its triggers — so the guard is taken
off first and put back as the last step, on both databases.
"""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery

TABLE = "points_volunteerrecord"


def guard_off(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_immutable ON {TABLE};", params=None)
    elif vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_immutable;")


def guard_on(apps, schema_editor):
    """As in 0002 (the trigger function points_immutable_guard() exists since then)."""
    guard_off(apps, schema_editor)
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION points_immutable_guard();",
            params=None,
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} rows are immutable'); END;"
        )


def backfill(apps, schema_editor):
    VolunteerRecord = apps.get_model("points", "VolunteerRecord")
    Task = apps.get_model("points", "Task")
    VolunteerRecord.objects.update(
        source_type="points.claim",
        source_id=F("claim_id"),
        title=Subquery(Task.objects.filter(pk=OuterRef("task_id")).values("title")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [("points", "0003_checkin_codes_to_core")]

    operations = [
        migrations.RunPython(guard_off, guard_on),
        migrations.AddField(
            model_name="volunteerrecord",
            name="source_type",
            field=models.CharField(default="", max_length=40, verbose_name="来源类型"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="volunteerrecord",
            name="source_id",
            field=models.PositiveBigIntegerField(null=True, verbose_name="来源编号"),
        ),
        migrations.AddField(
            model_name="volunteerrecord",
            name="title",
            field=models.CharField(default="", max_length=200, verbose_name="服务项目"),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="volunteerrecord",
            name="source_id",
            field=models.PositiveBigIntegerField(verbose_name="来源编号"),
        ),
        migrations.AlterField(
            model_name="volunteerrecord",
            name="claim",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="record",
                to="points.claim",
                verbose_name="报名",
            ),
        ),
        migrations.AlterField(
            model_name="volunteerrecord",
            name="task",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.PROTECT,
                to="points.task",
                verbose_name="任务",
            ),
        ),
        migrations.AddConstraint(
            model_name="volunteerrecord",
            constraint=models.UniqueConstraint(
                fields=("source_type", "source_id", "person"),
                name="record_once_per_source_person",
            ),
        ),
        migrations.AddConstraint(
            model_name="volunteerrecord",
            constraint=models.CheckConstraint(
                condition=~models.Q(source_type=""), name="record_has_source"
            ),
        ),
        migrations.AddConstraint(
            model_name="volunteerrecord",
            constraint=models.CheckConstraint(
                condition=(
                    models.Q(
                        source_type="points.claim",
                        claim__isnull=False,
                        source_id=F("claim_id"),
                    )
                    | (~models.Q(source_type="points.claim") & models.Q(claim__isnull=True))
                ),
                name="record_claim_matches_source",
            ),
        ),
        migrations.RunPython(guard_on, guard_off),
    ]
