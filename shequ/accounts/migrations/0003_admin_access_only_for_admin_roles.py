"""Grid workers, property staff and the other non-admin roles lose the `is_staff` flag that
older assignments gave them (issue 21.5: they never see the raw Django admin)."""

from django.db import migrations

ADMIN_ROLES = ("community_staff", "township_officer", "city_operator")


def forwards(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Assignment = apps.get_model("accounts", "Assignment")
    admins = Assignment.objects.filter(is_active=True, role__in=ADMIN_ROLES).values("user_id")
    User.objects.filter(is_staff=True, is_superuser=False).exclude(pk__in=admins).update(
        is_staff=False
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_totpdevice")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
