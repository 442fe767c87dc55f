"""Case descriptions at rest are masked; the text as typed moves to an encrypted field.

Existing rows: a description with a phone, ID or landline number in it is masked and its
original is encrypted into `description_original` (batches of 500). Backwards the original is
put back (the data key must still be configured)."""

from django.db import migrations

import shequ.core.crypto

BATCH = 500


def mask_descriptions(apps, schema_editor):
    from shequ.core.masking import mask_free_text

    Case = apps.get_model("cases", "Case")
    changed = []
    for case in Case.objects.only("id", "description").iterator(chunk_size=BATCH):
        masked = mask_free_text(case.description)
        if masked != case.description:
            case.description_original, case.description = case.description, masked
            changed.append(case)
        if len(changed) >= BATCH:
            Case.objects.bulk_update(changed, ["description", "description_original"])
            changed = []
    if changed:
        Case.objects.bulk_update(changed, ["description", "description_original"])


def restore_descriptions(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    for case in Case.objects.exclude(description_original="").iterator(chunk_size=BATCH):
        Case.objects.filter(pk=case.pk).update(description=case.description_original)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_event_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="description_original",
            field=shequ.core.crypto.EncryptedTextField(
                blank=True,
                context="cases.case.description_original",
                db_default="",
                default="",
                editable=False,
                verbose_name="问题描述原文",
            ),
        ),
        migrations.RunPython(mask_descriptions, restore_descriptions, elidable=True),
    ]
