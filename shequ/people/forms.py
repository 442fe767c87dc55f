"""Forms of the registry pages. They only parse input; the rules live in services/validation,
whose errors (`details.fields`) are put back on the form fields."""

from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.errors import ServiceError
from shequ.people.choices import (
    ETHNICITIES,
    Gender,
    HouseRelation,
    IdType,
    PoliticalStatus,
    RegistrationType,
    RelationToHead,
)


def set_choices(form: forms.Form, name: str, choices: list[tuple[Any, Any]]) -> None:
    """Fill the options of one of the form's choice fields (`form.fields` is typed as the
    Field base class)."""
    cast(forms.ChoiceField, form.fields[name]).choices = choices


def apply_service_error(form: forms.Form, exc: ServiceError) -> None:
    """Show a service error on the form: per field where the error names fields."""
    details = exc.details if isinstance(exc.details, dict) else {}
    fields = details.get("fields") or {}
    if not fields and details.get("field"):
        fields = {details["field"]: exc.message}
    placed = False
    for name, message in fields.items():
        if name in form.fields:
            form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PersonForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_type = forms.ChoiceField(
        label=_("证件类型"), choices=IdType.choices, initial=IdType.RESIDENT_ID
    )
    id_number = forms.CharField(
        label=_("证件号码"),
        max_length=40,
        help_text=_("18 位身份证号；旧版 15 位号码会自动升级；港澳台居民居住证以 81/82/83 开头。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    gender = forms.ChoiceField(
        label=_("性别"),
        choices=[("", _("由证件号码得出")), *Gender.choices],
        required=False,
        help_text=_("仅“其他证件”需要填写。"),
    )
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=DateInput())
    mobile = forms.CharField(
        label=_("手机号码"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    landline = forms.CharField(
        label=_("固定电话"),
        max_length=20,
        required=False,
        help_text=_("带区号，如 0511-86881234"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    ethnicity = forms.ChoiceField(label=_("民族"), choices=ETHNICITIES, initial="01")
    political_status = forms.ChoiceField(
        label=_("政治面貌"), choices=PoliticalStatus.choices, initial=PoliticalStatus.MASSES
    )
    registration_type = forms.ChoiceField(
        label=_("户籍类型"), choices=RegistrationType.choices, initial=RegistrationType.LOCAL
    )
    emergency_contact_name = forms.CharField(label=_("紧急联系人"), max_length=50, required=False)
    emergency_contact_phone = forms.CharField(
        label=_("紧急联系人电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)


class ResidenceForm(forms.Form):
    """Where the new person lives: a house (building → room), or only a grid."""

    grid = forms.ChoiceField(label=_("所在网格"), required=False)
    building = forms.IntegerField(label=_("楼栋"), required=False, widget=forms.Select)
    house = forms.IntegerField(label=_("房屋（室号）"), required=False, widget=forms.Select)
    relation = forms.ChoiceField(
        label=_("与房屋关系"), choices=HouseRelation.choices, initial=HouseRelation.FAMILY
    )
    start_date = forms.DateField(label=_("迁入日期"), required=False, widget=DateInput())
    is_household_consistent = forms.BooleanField(label=_("人户一致"), required=False, initial=True)
    is_registered = forms.BooleanField(label=_("是否落户"), required=False)

    def __init__(self, *args, grids=(), buildings=(), houses=(), **kwargs):
        super().__init__(*args, **kwargs)
        set_choices(
            self,
            "grid",
            [("", _("（按房屋确定）"))]
            + [(g.code, f"{g.parent.name if g.parent else ''} {g.name}") for g in grids],
        )
        set_place_choices(self, buildings, houses)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if not data.get("house") and not data.get("grid"):
            raise forms.ValidationError(_("请选择房屋，或至少选择所在网格。"))
        return data


def set_place_choices(form: forms.Form, buildings, houses) -> None:
    form.fields["building"].widget.choices = [("", _("（请选择楼栋）"))] + [
        (str(b.pk), b.address) for b in buildings
    ]
    form.fields["house"].widget.choices = [("", _("（请先选择楼栋）"))] + [
        (str(h.pk), house_label(h)) for h in houses
    ]


def house_label(house) -> str:
    if house.building.is_rural_house:
        return house.room
    return _("%(u)s单元 %(r)s室") % {"u": house.unit, "r": house.room}


class MoveInForm(forms.Form):
    # Choices list the user's buildings and rooms, but any id is accepted here: the service
    # decides, so a house outside the user's scope is refused with 403, not a form error.
    building = forms.IntegerField(label=_("楼栋"), required=False, widget=forms.Select)
    house = forms.IntegerField(label=_("房屋（室号）"), widget=forms.Select)
    relation = forms.ChoiceField(
        label=_("与房屋关系"), choices=HouseRelation.choices, initial=HouseRelation.FAMILY
    )
    start_date = forms.DateField(
        label=_("迁入日期"), widget=DateInput(), initial=timezone.localdate
    )
    is_household_consistent = forms.BooleanField(label=_("人户一致"), required=False, initial=True)
    is_registered = forms.BooleanField(label=_("是否落户"), required=False)

    def __init__(self, *args, buildings=(), houses=(), **kwargs):
        super().__init__(*args, **kwargs)
        set_place_choices(self, buildings, houses)


class MoveOutForm(forms.Form):
    end_date = forms.DateField(label=_("迁出日期"), widget=DateInput(), initial=timezone.localdate)
    left_city = forms.BooleanField(label=_("已离开本市（不再是本地居民）"), required=False)


class TagForm(forms.Form):
    tag_type = forms.ChoiceField(label=_("标签"))
    detail = forms.CharField(label=_("补充信息"), max_length=100, required=False)
    source = forms.CharField(
        label=_("来源"), max_length=100, help_text=_("如：民政局、残联、入户走访")
    )
    start_date = forms.DateField(
        label=_("开始日期"), widget=DateInput(), initial=timezone.localdate
    )
    end_date = forms.DateField(label=_("结束日期"), widget=DateInput(), required=False)

    def __init__(self, *args, tag_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        set_choices(self, "tag_type", [(t.code, f"{t.category} · {t.name}") for t in tag_types])


class HouseholdForm(forms.Form):
    number = forms.CharField(
        label=_("户号"),
        max_length=30,
        required=False,
        help_text=_("填写已有户号加入该户；留空则新建一户。"),
    )
    relation_to_head = forms.ChoiceField(label=_("与户主关系"), choices=RelationToHead.choices)


class RevealForm(forms.Form):
    field = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("查看理由"), max_length=500, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel 文件（.xlsx）"))
    community = forms.ChoiceField(label=_("社区"))
    grid = forms.ChoiceField(
        label=_("默认网格"),
        required=False,
        help_text=_("没有填写网格、也没有填写已有楼栋的行，登记在这个网格。"),
    )
    dry_run = forms.BooleanField(
        label=_("先预览，不写入（确认后再导入）"), required=False, initial=True
    )
    create_missing = forms.BooleanField(
        label=_("新建系统中没有的小区、楼栋和房屋（新建的将在报告中列出）"),
        required=False,
        help_text=_("不勾选时，文件中写的小区、楼栋或房屋在系统中找不到，该行报错并写明名称。"),
    )

    def __init__(self, *args, communities=(), grids=(), **kwargs):
        super().__init__(*args, **kwargs)
        set_choices(self, "community", [(c.code, c.name) for c in communities])
        set_choices(
            self,
            "grid",
            [("", _("（不指定）"))] + [(g.code, f"{g.parent.name} {g.name}") for g in grids],
        )


class ExportForm(forms.Form):
    unmasked = forms.BooleanField(label=_("导出完整证件号码和电话"), required=False)
    reason = forms.CharField(label=_("用途"), max_length=500, required=False)


class TagSynonymForm(forms.Form):
    tag_type = forms.ChoiceField(label=_("标签"))
    text = forms.CharField(label=_("另一种写法"), max_length=60)

    def __init__(self, *args, tag_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        set_choices(self, "tag_type", [(t.code, t.name) for t in tag_types])
