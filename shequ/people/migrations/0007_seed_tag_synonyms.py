"""The common spellings of each special-population tag in community 台账, as data (editable
afterwards on the 标签写法 page). The import recognises a tag by its name, its code or any of
these; anything else is a warning on its row with the closest spelling suggested.

Spellings are stored as the import compares them: half-width, without spaces. A spelling that
an operator has already given to another tag is left alone (one spelling, one tag)."""

from django.db import migrations

SYNONYMS = {
    "dibao": [
        "低保户",
        "低保对象",
        "低保家庭",
        "低保人员",
        "城市低保",
        "农村低保",
        "城乡低保",
        "最低生活保障",
    ],
    "tekun": ["特困", "特困人员", "特困户", "特困供养人员", "五保", "五保户", "五保对象"],
    "dibian": ["低保边缘", "低保边缘户", "低保边缘家庭", "低边户", "低边家庭"],
    "hardship": ["困难家庭", "困难群众", "困难群体", "生活困难户"],
    "disability": [
        "残疾人",
        "残疾人员",
        "残障",
        "残障人士",
        "持证残疾人",
        "残疾户",
    ],
    "elderly_80": ["高龄老人", "高龄老年人", "80岁以上", "80岁以上老人", "八十岁以上老人"],
    "living_alone": ["独居老人", "独居老年人", "独居人员", "独居户"],
    "empty_nest": ["空巢老人", "空巢老年人", "空巢家庭", "空巢户"],
    "shidu": ["失独家庭", "失独老人", "计生特殊家庭", "独生子女伤残死亡家庭"],
    "left_behind_elderly": ["农村留守老人", "留守老年人"],
    "left_behind_women": ["农村留守妇女"],
    "left_behind_children": ["农村留守儿童", "留守未成年人"],
    "children_in_distress": ["事实无人抚养儿童", "孤儿", "困境未成年人"],
    "veteran": [
        "退役军人",
        "优抚",
        "优抚对象",
        "退伍军人",
        "复员军人",
        "转业军人",
        "伤残军人",
        "军属",
        "烈属",
        "军烈属",
    ],
    "serious_illness": ["重大疾病", "大病患者", "重病"],
    "chronic_illness": ["慢性病", "慢病患者", "慢性病患者"],
    "maternal": ["孕妇", "产妇", "孕产期"],
    "community_correction": ["社区矫正对象", "社区矫正人员", "社矫", "矫正对象", "社区服刑人员"],
    "released_prisoner": [
        "刑满释放人员",
        "刑释人员",
        "刑释解教人员",
        "安置帮教",
        "安置帮教对象",
        "安置帮教人员",
    ],
    "drug_user": ["吸毒", "社区戒毒", "社区戒毒人员", "社区康复人员"],
    "severe_mental_illness": [
        "严重精神障碍患者",
        "严重精神病",
        "精神病人",
        "精神障碍患者",
    ],
    "key_petitioner": ["重点信访人员", "信访重点人员"],
}


def _clean(text: str) -> str:
    return text.replace(" ", "")


def forwards(apps, schema_editor):
    TagType = apps.get_model("people", "TagType")
    TagSynonym = apps.get_model("people", "TagSynonym")
    types = {t.code: t for t in TagType.objects.filter(code__in=SYNONYMS)}
    taken = set(TagSynonym.objects.values_list("text", flat=True))
    taken |= set(TagType.objects.values_list("name", flat=True))
    for code, spellings in SYNONYMS.items():
        tag_type = types.get(code)
        if tag_type is None:
            continue
        for spelling in spellings:
            text = _clean(spelling)
            if text and text not in taken:
                TagSynonym.objects.create(tag_type=tag_type, text=text)
                taken.add(text)


def backwards(apps, schema_editor):
    texts = [_clean(s) for spellings in SYNONYMS.values() for s in spellings]
    apps.get_model("people", "TagSynonym").objects.filter(text__in=texts).delete()


class Migration(migrations.Migration):
    dependencies = [("people", "0006_tag_synonyms_and_import_previews")]

    operations = [migrations.RunPython(forwards, backwards)]
