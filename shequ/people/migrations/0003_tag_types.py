"""The special-population classes of the reference (§5), as data: code, name, category,
sensitivity (1 一般, 2 敏感 — health, disability, minors; 3 严格限制 — needs a stricter role),
what the detail field holds, and display order. 流动人口/境外人员 are the person's
registration type (户籍类型), not tags."""

from django.db import migrations

TAG_TYPES = [
    ("dibao", "低保", "社会救助", 1, "", 10),
    ("tekun", "特困供养", "社会救助", 1, "", 11),
    ("dibian", "低边", "社会救助", 1, "", 12),
    ("hardship", "困难户", "社会救助", 1, "困难类型", 13),
    ("disability", "残疾", "残疾人", 2, "残疾类别和等级", 20),
    ("elderly_80", "高龄", "老年人", 1, "", 30),
    ("living_alone", "独居", "老年人", 1, "", 31),
    ("empty_nest", "空巢", "老年人", 1, "", 32),
    ("shidu", "失独", "老年人", 2, "", 33),
    ("left_behind_elderly", "留守老人", "留守人员", 1, "", 40),
    ("left_behind_women", "留守妇女", "留守人员", 1, "", 41),
    ("left_behind_children", "留守儿童", "留守人员", 2, "", 42),
    ("children_in_distress", "困境儿童", "儿童", 2, "困境类型", 43),
    ("veteran", "优抚/退役军人", "优抚对象", 1, "类别", 50),
    ("serious_illness", "大病", "健康", 2, "病种", 60),
    ("chronic_illness", "慢病", "健康", 2, "病种", 61),
    ("maternal", "孕产妇", "健康", 2, "预产期", 62),
    ("community_correction", "社区矫正", "重点人员", 3, "", 90),
    ("released_prisoner", "刑满释放", "重点人员", 3, "", 91),
    ("drug_user", "吸毒人员", "重点人员", 3, "", 92),
    ("severe_mental_illness", "严重精神障碍", "重点人员", 3, "", 93),
    ("key_petitioner", "重点信访", "重点人员", 3, "", 94),
]


def forwards(apps, schema_editor):
    TagType = apps.get_model("people", "TagType")
    for code, name, category, sensitivity, detail_label, order in TAG_TYPES:
        TagType.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "category": category,
                "sensitivity": sensitivity,
                "detail_label": detail_label,
                "order": order,
            },
        )


def backwards(apps, schema_editor):
    apps.get_model("people", "TagType").objects.filter(
        code__in=[row[0] for row in TAG_TYPES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("people", "0002_postgres_pattern_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
