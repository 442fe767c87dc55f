"""Tasks' check-in codes move to core.checkin (CheckinCode rows) and the claims' wrong-code counts
to its per-(code, person) counters; then the old columns go.

Windows as the services set them (check-in from an hour before the start to the end, check-out
until three hours after the end). A claim's count goes to the code it was guessing: the check-in
code while claimed, the check-out code once checked in. Backwards: the codes and counts (summed
over both codes) go back into the columns.
"""

import secrets
from datetime import timedelta

from django.db import migrations, models

SUBJECT = "points.task"
CHECKIN_EARLY = timedelta(hours=1)
CHECKOUT_LATE = timedelta(hours=3)
BATCH = 1000


def _fresh(taken: str) -> str:
    while True:
        code = "".join(str(secrets.randbelow(10)) for _ in range(6))
        if code != taken:
            return code


def forwards(apps, schema_editor):
    Task = apps.get_model("points", "Task")
    Claim = apps.get_model("points", "Claim")
    CheckinCode = apps.get_model("core", "CheckinCode")
    CheckinCodeFailure = apps.get_model("core", "CheckinCodeFailure")
    rows = []
    tasks = Task.objects.order_by("pk").values_list(
        "pk", "starts_at", "ends_at", "checkin_code", "checkout_code"
    )
    for pk, starts_at, ends_at, checkin, checkout in tasks.iterator(chunk_size=BATCH):
        checkin = checkin or _fresh("")
        if not checkout or checkout == checkin:  # never the same code for both purposes
            checkout = _fresh(checkin)
        opens = starts_at - CHECKIN_EARLY
        rows.append(
            CheckinCode(
                subject_type=SUBJECT,
                subject_id=pk,
                purpose="checkin",
                code=checkin,
                valid_from=opens,
                valid_until=ends_at,
            )
        )
        rows.append(
            CheckinCode(
                subject_type=SUBJECT,
                subject_id=pk,
                purpose="checkout",
                code=checkout,
                valid_from=opens,
                valid_until=ends_at + CHECKOUT_LATE,
            )
        )
        if len(rows) >= BATCH:
            CheckinCode.objects.bulk_create(rows)
            rows = []
    CheckinCode.objects.bulk_create(rows)

    failures = []
    claims = Claim.objects.filter(code_failures__gt=0, person__user__isnull=False).values_list(
        "task_id", "person__user_id", "status", "code_failures"
    )
    for task_id, user_id, status, count in claims.iterator(chunk_size=BATCH):
        purpose = "checkin" if status == "claimed" else "checkout"
        code = CheckinCode.objects.get(subject_type=SUBJECT, subject_id=task_id, purpose=purpose)
        failures.append(CheckinCodeFailure(checkin_code=code, user_id=user_id, failures=count))
        if len(failures) >= BATCH:
            CheckinCodeFailure.objects.bulk_create(failures)
            failures = []
    CheckinCodeFailure.objects.bulk_create(failures)


def backwards(apps, schema_editor):
    Task = apps.get_model("points", "Task")
    Claim = apps.get_model("points", "Claim")
    CheckinCode = apps.get_model("core", "CheckinCode")
    CheckinCodeFailure = apps.get_model("core", "CheckinCodeFailure")
    codes = CheckinCode.objects.filter(subject_type=SUBJECT)
    for subject_id, purpose, code in codes.values_list("subject_id", "purpose", "code").iterator():
        field = "checkin_code" if purpose == "checkin" else "checkout_code"
        Task.objects.filter(pk=subject_id).update(**{field: code})
    failures = CheckinCodeFailure.objects.filter(checkin_code__subject_type=SUBJECT)
    for task_id, user_id, count in failures.values_list(
        "checkin_code__subject_id", "user_id", "failures"
    ).iterator():
        claim = Claim.objects.filter(task_id=task_id, person__user_id=user_id)
        claim.update(code_failures=models.F("code_failures") + count)
    failures.delete()
    codes.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_checkin_codes_and_registrations"),
        ("points", "0002_ledger_append_only"),
    ]

    operations = [
        # Defaults first, so that unapplying the removals can add the columns back to full tables.
        migrations.AlterField(
            model_name="task",
            name="checkin_code",
            field=models.CharField(default="", max_length=6, verbose_name="签到码"),
        ),
        migrations.AlterField(
            model_name="task",
            name="checkout_code",
            field=models.CharField(default="", max_length=6, verbose_name="签退码"),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="task", name="checkin_code"),
        migrations.RemoveField(model_name="task", name="checkout_code"),
        migrations.RemoveField(model_name="claim", name="code_failures"),
    ]
