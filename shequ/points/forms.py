"""Forms of the points pages (input parsing only; the rules live in the services)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.points.choices import (
    FunderKind,
    PointKind,
    StockSource,
    TaskCategory,
    TaskKind,
)

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _points(label, **kwargs):
    return forms.IntegerField(label=label, min_value=1, max_value=10_000, **kwargs)


class HelpForm(forms.Form):
    title = forms.CharField(label=_("需要什么帮助"), max_length=100)
    category = forms.ChoiceField(
        label=_("类别"), choices=TaskCategory.choices, initial=TaskCategory.NEIGHBOUR
    )
    description = forms.CharField(
        label=_("详细说明"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    address = forms.CharField(label=_("地点"), max_length=200, required=False)
    starts_at = forms.DateTimeField(
        label=_("开始时间"), input_formats=DATETIME_FORMATS, widget=DateTimeInput()
    )
    ends_at = forms.DateTimeField(
        label=_("结束时间"), input_formats=DATETIME_FORMATS, widget=DateTimeInput()
    )
    points = _points(_("酬谢积分（从我的积分中托管）"))
    hours = forms.DecimalField(
        label=_("预计时长（小时）"), min_value=0, max_value=24, decimal_places=1, initial=1
    )
    quota = forms.IntegerField(label=_("需要人数"), min_value=1, max_value=5, initial=1)


class TaskForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("类型"),
        choices=[
            (TaskKind.VOLUNTEER, TaskKind.VOLUNTEER.label),
            (TaskKind.WISH, TaskKind.WISH.label),
        ],
    )
    title = forms.CharField(label=_("标题"), max_length=100)
    category = forms.ChoiceField(label=_("类别"), choices=TaskCategory.choices)
    region_code = forms.ChoiceField(label=_("地点所在网格/社区"), choices=[])
    address = forms.CharField(label=_("具体地点"), max_length=200, required=False)
    starts_at = forms.DateTimeField(
        label=_("开始时间"), input_formats=DATETIME_FORMATS, widget=DateTimeInput()
    )
    ends_at = forms.DateTimeField(
        label=_("结束时间"), input_formats=DATETIME_FORMATS, widget=DateTimeInput()
    )
    quota = forms.IntegerField(label=_("招募人数"), min_value=1, max_value=500, initial=5)
    point_kind = forms.ChoiceField(label=_("积分类型"), choices=PointKind.choices)
    points_per_person = _points(_("每人积分"))
    hours_per_person = forms.DecimalField(
        label=_("每人志愿时长（小时）"), min_value=0, max_value=24, decimal_places=1, initial=2
    )
    description = forms.CharField(
        label=_("任务内容"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    publish = forms.BooleanField(
        label=_("立即发布（从积分池托管积分）"), required=False, initial=True
    )

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        region = self.fields["region_code"]
        assert isinstance(region, forms.ChoiceField)
        region.choices = list(regions)


class HonourForm(forms.Form):
    points = _points(_("荣誉积分"))
    hours = forms.DecimalField(label=_("时长（小时）"), min_value=0, max_value=24, decimal_places=1)
    reason = forms.CharField(label=_("理由"), max_length=200)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200)


class CodeForm(forms.Form):
    code = forms.CharField(label=_("验证码"), max_length=12)


class ItemForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    category = forms.CharField(label=_("类别"), max_length=20, required=False)
    description = forms.CharField(label=_("说明"), max_length=300, required=False)
    price = _points(_("兑换积分"))
    value_yuan = forms.DecimalField(
        label=_("参考价值（元）"), min_value=0, max_digits=8, decimal_places=2, required=False
    )
    monthly_limit = forms.IntegerField(
        label=_("每人每月限兑"), min_value=1, max_value=20, initial=2
    )
    initial_stock = forms.IntegerField(
        label=_("首次入库数量"), min_value=0, max_value=100_000, initial=0
    )
    donor = forms.CharField(label=_("捐赠单位（如为捐赠）"), max_length=100, required=False)
    photo = forms.ImageField(label=_("图片"), required=False)


class StockInForm(forms.Form):
    quantity = forms.IntegerField(label=_("数量"), min_value=1, max_value=100_000)
    source = forms.ChoiceField(label=_("来源"), choices=StockSource.choices)
    donor = forms.CharField(label=_("捐赠单位"), max_length=100, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class FundingForm(forms.Form):
    pool = forms.IntegerField(widget=forms.HiddenInput)
    funder_kind = forms.ChoiceField(label=_("资金来源"), choices=FunderKind.choices)
    funder_name = forms.CharField(label=_("出资单位"), max_length=100)
    amount = _points(_("积分"))
    yuan = forms.DecimalField(
        label=_("对应资金（元）"), min_value=0, max_digits=12, decimal_places=2, required=False
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class AdjustForm(forms.Form):
    account = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.IntegerField(
        label=_("调整积分（负数为扣减）"), min_value=-10_000, max_value=10_000
    )
    reason = forms.CharField(label=_("理由"), max_length=300)


class TillForm(forms.Form):
    merchant = forms.IntegerField(widget=forms.HiddenInput)
    code = forms.CharField(label=_("居民付款码"), max_length=8, min_length=8)
    points = forms.IntegerField(label=_("使用积分"), min_value=1, max_value=2000)
    description = forms.CharField(label=_("消费说明"), max_length=200, required=False)
