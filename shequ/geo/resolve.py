"""Address resolution: a typed address (a 12345 call, a resident's words) → a building or estate.

What people say is "金陵花园3幢2单元", "金陵花园三栋", "张家村5号", or just "3幢" about their
own estate. `resolve_address` finds the estate (小区/自然村) whose name appears in the text (the
longest match; among namesakes the one inside `within`, else the one of `home`), then the
building by its number (幢/栋/号楼/座, or 号 in a village), then the unit (单元). With the estate
and no building number the place is the estate (its grid and the mean of its buildings).

One query for the estate (the text LIKE '%' || name || '%', the same on SQLite and
PostgreSQL), one for the building. Nothing is guessed across estates: an estate name that exists
in two places outside `within` is reported as ambiguous.
"""

import re
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Avg, F, Value
from django.db.models.functions import Length
from django.utils.translation import gettext as _

from shequ.core.crypto import lookup_hashes
from shequ.core.errors import InvalidInput
from shequ.geo.models import Building, Estate

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
DIGITS |= {"七": 7, "八": 8, "九": 9}
BUILDING_WORDS = "幢|栋|号楼|座"  # not 楼 alone: "3楼" is the third floor
BUILDING_RE = re.compile(rf"(\d{{1,4}})\s*(?:{BUILDING_WORDS})")
VILLAGE_NUMBER_RE = re.compile(r"(\d{1,4})\s*号(?!楼)")
UNIT_RE = re.compile(r"(\d{1,3})\s*单元")
CHINESE_NUMBER_RE = re.compile(r"[零〇一二两三四五六七八九十百]+(?=\s*(?:幢|栋|号|座|单元|期))")


class ResolveError(Exception):
    """The text names no known place, or more than one; `message` is for people."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ResolvedPlace:
    estate: Estate
    building: Building | None
    unit: int | None
    grid_code: str
    lat: float
    lng: float

    @property
    def label(self) -> str:
        if self.building is None:
            return self.estate.name
        unit = _("%(n)d单元") % {"n": self.unit} if self.unit else ""
        return f"{self.building.address}{unit}"


def chinese_to_int(text: str) -> int | None:
    """三 → 3, 十二 → 12, 二十三 → 23, 一百零五 → 105 (what people type for building numbers)."""
    if not text:
        return None
    total, current = 0, 0
    for char in text:
        if char in DIGITS:
            current = DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def normalise(text: str) -> str:
    """Full-width digits → ASCII, Chinese numbers before 幢/号/单元 → digits, no spaces."""
    text = (text or "").translate({0xFF10 + i: ord("0") + i for i in range(10)})
    text = CHINESE_NUMBER_RE.sub(lambda m: str(chinese_to_int(m.group(0)) or m.group(0)), text)
    return re.sub(r"\s+", "", text)


def _estate_matches(text: str):
    # The text contains the estate's name: LIKE with the column on the right-hand side.
    return (
        Estate.objects.annotate(typed=Value(text), name_length=Length("name"))
        .filter(typed__contains=F("name"), name_length__gte=2)
        .order_by("-name_length", "region_code")
    )


def _choose_estate(text: str, *, within: str, home: Building | None) -> Estate | None:
    candidates = list(_estate_matches(text)[:20])
    if not candidates:
        return None
    longest = len(candidates[0].name)
    best = [e for e in candidates if len(e.name) == longest]
    if len(best) > 1 and home is not None and home.estate_id:
        mine = [e for e in best if e.pk == home.estate_id]
        best = mine or best
    if len(best) > 1 and within:
        inside = [e for e in best if e.region_code.startswith(within)]
        best = inside or best
    if len(best) > 1:
        raise ResolveError(
            _("有多个名为「%(name)s」的小区，请补充所在镇（街道）或社区，或在地图上点选。")
            % {"name": best[0].name},
            "ambiguous_address",
        )
    return best[0]


def _building_number(text: str, estate: Estate) -> int | None:
    # Only what follows the estate's name: "金陵花园二期3幢" must not read the 期 as a number.
    tail = text.split(estate.name, 1)[1] if estate.name in text else text
    match = BUILDING_RE.search(tail) or VILLAGE_NUMBER_RE.search(tail)
    return int(match.group(1)) if match else None


def resolve_address(
    text: str, *, within: str = "", home: Building | None = None
) -> ResolvedPlace | None:
    """The place a typed address names, or None when the text names no known estate.

    `within` (a region-code prefix: the staff member's scope, the resident's community) breaks
    ties between namesakes; `home` (the reporter's own building) stands in for the estate when
    the text gives only "3幢2单元", and is the place when the text says so ("我家", "本楼").
    Raises ResolveError for an ambiguous estate name or a building number the estate lacks.
    """
    typed = normalise(text)
    if not typed:
        return None
    estate = _choose_estate(typed, within=within, home=home)
    mentions_home = BUILDING_RE.search(typed) or re.search(r"我家|本楼|本幢|我们楼|我住", typed)
    if estate is None and home is not None and home.estate_id is not None and mentions_home:
        estate = home.estate
    if estate is None:
        # A building's full address typed out (the address column is indexed).
        building = Building.objects.select_related("estate").filter(address=typed).first()
        if building is None or building.estate is None:
            return None
        return _place(building.estate, building, typed)
    number = _building_number(typed, estate)
    if number is None:
        if home is not None and home.estate_id == estate.pk and re.search(r"我家|本楼", typed):
            return _place(estate, home, typed)
        return _place(estate, None, typed)
    building = (
        Building.objects.filter(estate=estate, name__in=[f"{number}幢", f"{number}号", str(number)])
        .order_by("code")
        .first()
    )
    if building is None:
        raise ResolveError(
            _("「%(estate)s」没有 %(n)d 号楼，请核对楼栋号，或在地图上点选。")
            % {"estate": estate.name, "n": number},
            "unknown_building",
        )
    return _place(estate, building, typed)


def _place(estate: Estate, building: Building | None, typed: str) -> ResolvedPlace:
    unit_match = UNIT_RE.search(typed)
    unit = int(unit_match.group(1)) if unit_match else None
    if building is not None:
        if unit is not None and not 1 <= unit <= building.units:
            unit = None
        return ResolvedPlace(
            estate, building, unit, building.region_code, building.lat, building.lng
        )
    centre = Building.objects.filter(estate=estate).aggregate(lat=Avg("lat"), lng=Avg("lng"))
    if centre["lat"] is None:
        raise ResolveError(
            _("「%(estate)s」还没有楼栋数据，请在地图上点选位置。") % {"estate": estate.name},
            "estate_without_buildings",
        )
    return ResolvedPlace(estate, None, None, estate.region_code, centre["lat"], centre["lng"])


def home_building(user) -> Building | None:
    """The building of the user's own house (the registry's Person.user link), if any."""
    if not getattr(user, "is_authenticated", False) or not apps.is_installed("shequ.people"):
        return None
    from shequ.people.models import Person  # noqa: PLC0415 - upward, behind is_installed

    person = (
        Person.objects.filter(user=user, house__isnull=False)
        .select_related("house__building__estate")
        .first()
    )
    return person.house.building if person is not None and person.house is not None else None


def home_building_of_caller(phone: str, *, within: str) -> Building | None:
    """The building of the registered resident with this mobile number inside `within` (the
    hotline caller's own house), when exactly one building matches. A keyed-hash lookup: the
    number is never compared or stored in plaintext."""
    if not phone or not within or not apps.is_installed("shequ.people"):
        return None
    from shequ.people.models import Person  # noqa: PLC0415 - upward, behind is_installed

    try:
        hashes = lookup_hashes("people.person", "mobile", phone)
    except (InvalidInput, ValueError):
        return None
    building_ids = set(
        Person.objects.filter(
            mobile_hash__in=hashes, house__isnull=False, region_code__startswith=within
        ).values_list("house__building_id", flat=True)[:5]
    )
    if len(building_ids) != 1:
        return None
    return Building.objects.select_related("estate").filter(pk=building_ids.pop()).first()
