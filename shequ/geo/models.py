"""The region tree (city → township → community → grid) and what stands inside grids.

Polygons are GeoJSON (WGS-84) in ordinary JSON columns; `shequ.geo.locate` keeps a shapely
STRtree of the grids in memory. Every record inside a grid carries that grid's code in
`region_code`, which is what the scoping helper filters on.
"""

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shequ.core.regions import CODE_LENGTHS, Level


class RegionKind(models.TextChoices):
    CITY = "city", _("县级市")
    SUBDISTRICT = "subdistrict", _("街道")
    TOWN = "town", _("镇")
    COMMUNITY = "community", _("社区")
    VILLAGE = "village", _("村")
    GRID = "grid", _("网格")


class UrbanRuralClass(models.TextChoices):
    """城乡分类代码 (NBS)."""

    MAIN_URBAN = "111", _("主城区")
    URBAN_RURAL_FRINGE = "112", _("城乡结合区")
    TOWN_CENTRE = "121", _("镇中心区")
    TOWN_RURAL_FRINGE = "122", _("镇乡结合区")
    SPECIAL = "123", _("特殊区域")
    TOWNSHIP_CENTRE = "210", _("乡中心区")
    VILLAGE = "220", _("村庄")


class Region(models.Model):
    code = models.CharField(_("区划代码"), max_length=15, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices, db_index=True)
    kind = models.CharField(_("类型"), max_length=16, choices=RegionKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    urban_rural_class = models.CharField(
        _("城乡分类"), max_length=3, choices=UrbanRuralClass.choices, blank=True
    )
    polygon = models.JSONField(_("边界（GeoJSON）"), null=True, blank=True)
    centroid_lat = models.FloatField(_("中心纬度"), null=True, blank=True)
    centroid_lng = models.FloatField(_("中心经度"), null=True, blank=True)
    is_synthetic = models.BooleanField(
        _("示例数据"), default=False, help_text=_("名称为合成的演示数据（演示环境的边界均为合成）")
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    admin_scope_field = "code"

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level=Level.CITY, code__regex=r"^[0-9]{6}$")
                    | Q(level=Level.TOWNSHIP, code__regex=r"^[0-9]{9}$")
                    | Q(level=Level.COMMUNITY, code__regex=r"^[0-9]{12}$")
                    | Q(level=Level.GRID, code__regex=r"^[0-9]{15}$")
                ),
                name="region_code_matches_level",
            ),
            models.CheckConstraint(
                condition=Q(level=Level.CITY, parent__isnull=True)
                | Q(~Q(level=Level.CITY), parent__isnull=False),
                name="region_parent_unless_city",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def code_length(self) -> int:
        return CODE_LENGTHS[Level(self.level)]

    @property
    def region_code(self) -> str:
        """Regions are scoped by their own code."""
        return self.code


class FunctionalZone(models.Model):
    """开发区 / 高新区: functional zones that point at township units, not a fourth level."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    townships = models.ManyToManyField(
        Region,
        verbose_name=_("所辖镇/街道"),
        related_name="zones",
        limit_choices_to={"level": Level.TOWNSHIP},
    )

    class Meta:
        verbose_name = _("功能区")
        verbose_name_plural = _("功能区")

    def __str__(self) -> str:
        return self.name


class EstateKind(models.TextChoices):
    ESTATE = "estate", _("小区")
    NATURAL_VILLAGE = "natural_village", _("自然村")


class Estate(models.Model):
    """A residential estate (小区) or natural village (自然村) inside one grid."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=EstateKind.choices)
    grid = models.ForeignKey(
        Region, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="estates"
    )
    region_code = models.CharField(_("网格代码"), max_length=15, db_index=True, editable=False)

    admin_scope_field = "region_code"
    property_company = models.ForeignKey(
        "property.PropertyCompany",
        verbose_name=_("物业公司"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="estates",
    )

    class Meta:
        verbose_name = _("小区/自然村")
        verbose_name_plural = _("小区/自然村")
        ordering = ["region_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["grid", "name"], name="estate_unique_name_in_grid"),
        ]

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    """A building (楼栋) in a grid, or a rural house plot; rooms are `House` rows."""

    code = models.CharField(_("楼栋编码"), max_length=19, unique=True)
    grid = models.ForeignKey(
        Region, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="buildings"
    )
    region_code = models.CharField(_("网格代码"), max_length=15, db_index=True, editable=False)

    admin_scope_field = "region_code"
    estate = models.ForeignKey(
        Estate,
        verbose_name=_("小区/自然村"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="buildings",
    )
    name = models.CharField(_("楼号/门牌"), max_length=50)
    address = models.CharField(_("地址"), max_length=200, db_index=True)
    lat = models.FloatField(_("纬度"))
    lng = models.FloatField(_("经度"))
    floors = models.PositiveSmallIntegerField(_("层数"), default=1)
    units = models.PositiveSmallIntegerField(_("单元数"), default=1)
    is_rural_house = models.BooleanField(_("农村自建房"), default=False)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(floors__gte=1, floors__lte=200), name="building_floors_range"
            ),
            models.CheckConstraint(
                condition=Q(units__gte=1, units__lte=50), name="building_units_range"
            ),
            models.CheckConstraint(
                condition=Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180),
                name="building_coordinates_range",
            ),
        ]

    def __str__(self) -> str:
        return self.address


class House(models.Model):
    """A dwelling: a room (户室) in a building, or a rural house number."""

    code = models.CharField(_("房屋编码"), max_length=23, unique=True)
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="houses"
    )
    region_code = models.CharField(_("网格代码"), max_length=15, db_index=True, editable=False)

    admin_scope_field = "region_code"
    unit = models.PositiveSmallIntegerField(_("单元"), default=1)
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    room = models.CharField(_("室号/门牌号"), max_length=20)

    # Not columns: the room grid's occupants (people.selectors.building_rooms), people.Person
    # rows (typed Any: people is a floor above geo).
    residents: list[Any]
    absent_owners: list[Any]

    class Meta:
        verbose_name = _("房屋")
        verbose_name_plural = _("房屋")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["building", "unit", "room"], name="house_unique_room"),
        ]

    def __str__(self) -> str:
        if self.building.is_rural_house:
            return self.building.address
        return f"{self.building.address}{self.unit}单元{self.room}室"
