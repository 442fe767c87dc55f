"""Where each row lives: its grid and, when the row names one, its house.

A row's place is found from what it names: 小区 + 楼栋 (+ 单元 + 室号) are looked up among the
community's estates, buildings and houses (names compared loosely: "1幢" = "1栋" = "1号楼" = "1",
"301室" = "301"); the building gives the grid. Without a building the 网格 column (code or name)
or the import's default grid places the person.

An estate, building or house the system does not have is an error that names it, with the
closest existing name — unless the import was asked to create missing places (`create_missing`:
the page's checkbox, `--create-missing` on the command), when it is planned here (unsaved
objects, shared by every row that names it) and listed in the import's report. Nothing is
written in this module.
"""

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from shequ.core.scoping import prefix_q
from shequ.geo.models import Building, Estate, EstateKind, House, Region
from shequ.people.importing.reading import CellError, Problem

BATCH = 500
BUILDING_NAME = re.compile(r"([0-9A-Za-z]+)(?:号楼|幢|栋|号|楼|座)?")
UNIT_ROOM = re.compile(r"(\d{1,2})[-－—](\d{3,4})")
SHOWN_NAMES = 5


def _squash(value) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value or "")))


def estate_key(name: str) -> str:
    return _squash(name)


def building_key(name: str) -> str:
    """ "1幢", "1栋", "1号楼", "1 幢" → "1"; other names (综合楼) compare as written."""
    text = _squash(name)
    match = BUILDING_NAME.fullmatch(text)
    return match[1].upper() if match else text


def room_key(room: str) -> str:
    """ "301室", "0301", "301" → "301"; "5号" (a rural house number) → "5"."""
    text = _squash(room)
    text = re.sub(r"(室|号|户)$", "", text)
    if text.isdigit():
        return text.lstrip("0") or text
    return text.upper()


def floor_of(room: str) -> int | None:
    """ "1203" → 12, "301" → 3; None when the room number does not say."""
    digits = re.sub(r"\D", "", room or "")
    if len(digits) >= 3:
        floor = int(digits[:-2])
        return floor if 1 <= floor <= 200 else None
    return None


@dataclass(eq=False)
class Spot:
    """A row's place. `building`/`estate`/`house` are existing rows or planned (pk None)."""

    grid: Region
    estate: Estate | None = None
    building: Building | None = None
    unit: int | None = None
    room: str = ""
    house: House | None = None

    @property
    def has_house(self) -> bool:
        return self.house is not None


@dataclass
class Created:
    """What an import creates (planned objects), for the report and the writer."""

    estates: list[Estate] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    houses: list[House] = field(default_factory=list)

    def names(self, limit: int = 500) -> dict[str, list[str]]:
        return {
            "estate": [f"{e.grid.name} · {e.name}" for e in self.estates[:limit]],
            "building": [
                f"{b.estate.name if b.estate else ''}{b.name}（{b.grid.name}）"
                for b in self.buildings[:limit]
            ],
            "house": [_house_label(h) for h in self.houses[:limit]],
        }


def _house_label(house: House) -> str:
    building = house.building
    prefix = f"{building.estate.name if building.estate else ''}{building.name}"
    if building.is_rural_house:
        return prefix
    return f"{prefix}{house.unit}单元{house.room}室"


class Places:
    def __init__(
        self,
        *,
        community: Region,
        grids: dict[str, Region],
        default_grid: Region | None,
        create_missing: bool,
    ):
        self.community = community
        self.grids = grids
        self.grids_by_name = {g.name: g for g in grids.values()}
        self.default_grid = default_grid
        self.create_missing = create_missing
        self.estates: dict[int, Estate] = {
            e.pk: e for e in Estate.objects.filter(prefix_q("region_code", community.code))
        }
        self.estates_by_key: dict[str, list[Estate]] = {}
        for estate in self.estates.values():
            self.estates_by_key.setdefault(estate_key(estate.name), []).append(estate)
        self.buildings_by_key: dict[str, list[Building]] = {}
        for building in Building.objects.filter(prefix_q("region_code", community.code)).only(
            "id", "code", "region_code", "estate_id", "name", "address", "is_rural_house", "units"
        ):
            if building.estate_id:
                building.estate = self.estates.get(building.estate_id)
            self.buildings_by_key.setdefault(building_key(building.name), []).append(building)
        self.new_estates: dict[tuple[str, str], Estate] = {}
        self.new_buildings: dict[tuple, Building] = {}
        self.created = Created()

    # --- one row -------------------------------------------------------------------------------

    def resolve(self, *, grid: str, estate: str, building: str, unit: str, room: str) -> Spot:
        """The row's grid, estate and building (existing or planned); houses come in
        `finish()`, once every row is known. Raises CellError naming the column at fault."""
        given = None
        if grid:
            given = self.grids.get(grid) or self.grids_by_name.get(grid)
            if given is None:
                raise CellError(
                    _("网格“%(g)s”不在%(c)s内（可填网格代码或名称）。")
                    % {"g": grid[:20], "c": self.community.name},
                    "grid",
                )
        unit_number = None
        if unit:
            digits = re.sub(r"\D", "", unit)
            if not digits or not 1 <= int(digits) <= 50:
                raise CellError(_("单元“%(u)s”无法识别。") % {"u": unit[:10]}, "unit")
            unit_number = int(digits)
        room = _squash(room)[:20]
        match = UNIT_ROOM.fullmatch(room)
        if match and unit_number is None:  # "2-301": unit 2, room 301
            unit_number, room = int(match[1]), match[2]
        if room and not building:
            raise CellError(_("填写了室号，但没有填写楼栋。"), "building")
        if building:
            return self._with_building(given, estate, building, unit_number, room)
        if estate:
            found, place_grid = self._estate(given, estate)
            return Spot(grid=place_grid, estate=found)
        only_grid = given or self.default_grid
        if only_grid is None:
            raise CellError(_("无法确定所在网格：请填写“网格”列，或在导入时指定默认网格。"), "grid")
        return Spot(grid=only_grid)

    def _with_building(self, given, estate_name, name, unit, room) -> Spot:
        key = building_key(name)
        ekey = estate_key(estate_name) if estate_name else ""
        candidates = [
            b
            for b in self.buildings_by_key.get(key, ())
            if not ekey or (b.estate is not None and estate_key(b.estate.name) == ekey)
        ]
        here = [b for b in candidates if given is None or b.region_code == given.code]
        if len(here) == 1:
            found = here[0]
            return Spot(
                grid=self.grids[found.region_code],
                estate=found.estate,
                building=found,
                unit=unit,
                room=room,
            )
        label = f"{estate_name}{name}"
        if len(here) > 1:
            raise CellError(
                _("社区内有 %(n)d 个“%(b)s”，请填写“小区”或“网格”列以区分。")
                % {"n": len(here), "b": label[:40]},
                "building",
            )
        if candidates:
            raise CellError(
                _("“%(b)s”在%(g)s，与“网格”列填写的%(given)s不一致。")
                % {
                    "b": label[:40],
                    "g": self.grids[candidates[0].region_code].name,
                    "given": given.name,
                },
                "grid",
            )
        estate, grid = self._estate(given, estate_name) if estate_name else (None, None)
        grid = grid or given or self.default_grid
        if not self.create_missing:
            raise CellError(self._unknown_building(estate, name, grid), "building")
        if grid is None:
            raise CellError(_("无法确定所在网格：请填写“网格”列，或在导入时指定默认网格。"), "grid")
        identity = (estate.pk if estate and estate.pk else id(estate), grid.code, key)
        building = self.new_buildings.get(identity)
        if building is None:
            township = self.community.parent
            assert township is not None  # a community lies in a township
            building = Building(
                grid=grid,
                region_code=grid.code,
                estate=estate,
                name=_squash(name)[:50],
                address=f"丹阳市{township.name}{self.community.name}"
                f"{estate.name if estate else ''}{_squash(name)[:50]}"[:200],
                lat=grid.centroid_lat or 32.0,
                lng=grid.centroid_lng or 119.58,
            )
            self.new_buildings[identity] = building
            self.created.buildings.append(building)
        return Spot(grid=grid, estate=estate, building=building, unit=unit, room=room)

    def _estate(self, given: Region | None, name: str) -> tuple[Estate, Region]:
        key = estate_key(name)
        candidates = self.estates_by_key.get(key, [])
        here = [e for e in candidates if given is None or e.region_code == given.code]
        if len(here) == 1:
            return here[0], self.grids[here[0].region_code]
        if len(here) > 1:
            raise CellError(
                _("社区内有多个名为“%(e)s”的小区，请填写“网格”列以区分。") % {"e": name[:30]},
                "estate",
            )
        if candidates and given is not None:  # (without a given grid, here == candidates)
            raise CellError(
                _("小区“%(e)s”在%(g)s，与“网格”列填写的%(given)s不一致。")
                % {
                    "e": name[:30],
                    "g": self.grids[candidates[0].region_code].name,
                    "given": given.name,
                },
                "grid",
            )
        if not self.create_missing:
            known = [e.name for e in self.estates.values()]
            raise CellError(
                _("系统中没有“%(e)s”这个小区或自然村%(near)s。")
                % {"e": name[:30], "near": _near(name, known)}
                + _missing_hint(),
                "estate",
            )
        planned = [e for (_code, k), e in self.new_estates.items() if k == key]
        grid = given or self.default_grid or (planned[0].grid if len(planned) == 1 else None)
        if grid is None:
            raise CellError(_("无法确定所在网格：请填写“网格”列，或在导入时指定默认网格。"), "grid")
        estate = self.new_estates.get((grid.code, key))
        if estate is None:
            estate = Estate(
                name=_squash(name)[:100], kind=EstateKind.ESTATE, grid=grid, region_code=grid.code
            )
            self.new_estates[(grid.code, key)] = estate
            self.created.estates.append(estate)
        return estate, grid

    def _unknown_building(self, estate: Estate | None, name: str, grid: Region | None) -> str:
        buildings = [b for bs in self.buildings_by_key.values() for b in bs]
        if estate is not None:
            names = sorted({b.name for b in buildings if b.estate_id == estate.pk})
            where = estate.name
        elif grid is not None:
            names = sorted({b.name for b in buildings if b.region_code == grid.code})
            where = grid.name
        else:
            names = sorted({b.name for b in buildings})
            where = self.community.name
        return (
            _("%(w)s没有“%(b)s”这个楼栋或门牌%(near)s。")
            % {"w": where, "b": name[:20], "near": _near(name, names)}
            + _missing_hint()
        )

    # --- houses, once every row is known -------------------------------------------------------

    def finish(self, rows: list, problems: list[Problem], labels: dict[str, str]) -> list:
        """Find (or plan) each row's house; rows with a problem are dropped (returned: the
        rest). A building with rooms needs a room; a room the building lacks is an error
        unless missing places are created."""
        existing = sorted(
            {r.spot.building.pk for r in rows if r.spot.building and r.spot.building.pk}
        )
        by_room: dict[tuple[int, int, str], House] = {}
        by_room_any: dict[tuple[int, str], list[House]] = {}
        by_building: dict[int, list[House]] = {}
        for start in range(0, len(existing), BATCH):
            for house in House.objects.filter(building_id__in=existing[start : start + BATCH]).only(
                "id", "code", "building_id", "region_code", "unit", "room", "floor"
            ):
                key = room_key(house.room)
                by_room[(house.building_id, house.unit, key)] = house
                by_room_any.setdefault((house.building_id, key), []).append(house)
                by_building.setdefault(house.building_id, []).append(house)
        with_rooms = {id(r.spot.building) for r in rows if r.spot.building and r.spot.room}
        planned: dict[tuple, House] = {}
        kept = []
        for row in rows:
            spot = row.spot
            building = spot.building
            if building is None:
                kept.append(row)
                continue
            try:
                if building.pk is None:
                    building.is_rural_house = id(building) not in with_rooms
                    spot.house = self._planned_house(planned, building, spot)
                elif building.is_rural_house:
                    found = by_building.get(building.pk, [])
                    spot.house = found[0] if found else self._missing(planned, building, spot)
                else:
                    spot.house = self._room(building, spot, by_room, by_room_any, planned)
            except CellError as exc:
                value = spot.room if exc.column == "room" else building.name
                problems.append(Problem(row.number, labels[exc.column], value[:40], exc.message))
                continue
            kept.append(row)
        self._finish_new(planned)
        return kept

    def _room(self, building, spot, by_room, by_room_any, planned) -> House:
        if not spot.room:
            raise CellError(_("“%(b)s”是楼房，请填写室号。") % {"b": building.name}, "room")
        key = room_key(spot.room)
        if spot.unit is not None:
            found = by_room.get((building.pk, spot.unit, key))
            if found is not None:
                return found
        else:
            found_any = by_room_any.get((building.pk, key), [])
            if len(found_any) == 1:
                return found_any[0]
            if len(found_any) > 1:
                raise CellError(
                    _("%(b)s有 %(n)d 个单元都有 %(r)s 室，请填写单元。")
                    % {"b": building.name, "n": len(found_any), "r": spot.room},
                    "unit",
                )
        return self._missing(planned, building, spot)

    def _missing(self, planned, building, spot) -> House:
        if self.create_missing:
            return self._planned_house(planned, building, spot)
        if building.is_rural_house:
            raise CellError(
                _("门牌“%(b)s”还没有房屋记录。") % {"b": building.name} + _missing_hint(),
                "building",
            )
        raise CellError(
            _("%(b)s没有%(u)d单元%(r)s室。")
            % {"b": building.name, "u": spot.unit or 1, "r": spot.room}
            + _missing_hint(),
            "room",
        )

    def _planned_house(self, planned, building, spot) -> House:
        if building.pk is None and not building.is_rural_house and not spot.room:
            raise CellError(_("同一楼栋的其他行填写了室号，本行也请填写室号。"), "room")
        room = spot.room or building.name
        unit = spot.unit or 1
        identity = (building.pk or id(building), unit, room_key(room))
        house = planned.get(identity)
        if house is None:
            house = House(
                building=building,
                region_code=building.region_code,
                unit=unit,
                floor=(floor_of(spot.room) or 1) if spot.room else 1,
                room=room,
            )
            planned[identity] = house
            self.created.houses.append(house)
        return house

    def _finish_new(self, planned: dict) -> None:
        """Sizes of new buildings, kinds of new estates, and codes for both."""
        floors: dict[int, int] = {}
        units: dict[int, int] = {}
        for house in planned.values():
            b = id(house.building)
            floors[b] = max(floors.get(b, 1), house.floor or 1)
            units[b] = max(units.get(b, 1), house.unit)
        roomed_estates = {id(b.estate) for b in self.created.buildings if not b.is_rural_house}
        for estate in self.created.estates:
            if id(estate) not in roomed_estates and any(
                b.estate is estate for b in self.created.buildings
            ):
                estate.kind = EstateKind.NATURAL_VILLAGE
        if self.created.buildings:
            seq = _next_codes(Building, self.community.code, 15)
            for building in self.created.buildings:
                building.floors = min(200, floors.get(id(building), 1))
                building.units = min(50, units.get(id(building), 1))
                seq[building.region_code] = seq.get(building.region_code, 0) + 1
                building.code = f"{building.region_code}{seq[building.region_code]:04d}"
        if self.created.houses:
            old = sorted({h.building.pk for h in self.created.houses if h.building.pk})
            seq = {}
            for start in range(0, len(old), BATCH):
                for code in House.objects.filter(
                    building_id__in=old[start : start + BATCH]
                ).values_list("code", flat=True):
                    parent, tail = code[:19], code[19:]
                    if tail.isdigit():
                        seq[parent] = max(seq.get(parent, 0), int(tail))
            for house in self.created.houses:
                parent = house.building.code
                seq[parent] = seq.get(parent, 0) + 1
                house.code = f"{parent}{seq[parent]:04d}"


def _next_codes(model, community_code: str, length: int) -> dict[str, int]:
    """Highest sequence in use per parent code (the grid for buildings)."""
    result: dict[str, int] = {}
    qs = model.objects.filter(prefix_q("region_code", community_code))
    for code in qs.values_list("code", flat=True).iterator(chunk_size=5000):
        parent, tail = code[:length], code[length:]
        if tail.isdigit():
            result[parent] = max(result.get(parent, 0), int(tail))
    return result


def _near(name: str, names: list[str]) -> str:
    """ "（最接近的是“凤凰苑”）" — or "" when nothing is close."""
    close = difflib.get_close_matches(_squash(name), [_squash(n) for n in names], n=1, cutoff=0.4)
    if not close:
        return ""
    original = next(n for n in names if _squash(n) == close[0])
    return _("（最接近的是“%(n)s”）") % {"n": original}


def _missing_hint() -> str:
    return _(
        "如确需新建，请勾选“新建系统中没有的小区、楼栋和房屋”后重新导入（命令行：--create-missing）。"
    )
