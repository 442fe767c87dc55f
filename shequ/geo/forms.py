"""Forms of the scoped edit pages (estates, buildings, houses). They parse input only; the rules
live in shequ/geo/services.py."""

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from shequ.geo.models import Estate, EstateKind


class EstateForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    kind = forms.ChoiceField(label=_("类型"), choices=EstateKind.choices)


class BuildingForm(forms.Form):
    name = forms.CharField(label=_("楼号/门牌"), max_length=50)
    address = forms.CharField(label=_("地址"), max_length=200)
    # The queryset is the user's estates in the grid (__init__).
    estate: "forms.ModelChoiceField[Estate]" = forms.ModelChoiceField(
        label=_("小区/自然村"), queryset=None, required=False
    )
    floors = forms.IntegerField(label=_("层数"), min_value=1, max_value=200, initial=6)
    units = forms.IntegerField(label=_("单元数"), min_value=1, max_value=50, initial=2)
    lat = forms.FloatField(label=_("纬度"), min_value=-90, max_value=90)
    lng = forms.FloatField(label=_("经度"), min_value=-180, max_value=180)
    is_rural_house = forms.BooleanField(label=_("农村自建房"), required=False)

    def __init__(self, *args, estates, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["estate"]).queryset = estates


class HouseForm(forms.Form):
    unit = forms.IntegerField(label=_("单元"), min_value=1, max_value=50)
    floor = forms.IntegerField(label=_("楼层"), min_value=1, max_value=200, required=False)
    room = forms.CharField(label=_("室号/门牌号"), max_length=20)
