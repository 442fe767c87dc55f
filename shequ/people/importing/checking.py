"""Validating every row of an import (nothing is written here): cleaning through the shared
person rules, the row's place (网格 column, an existing building, or the default grid), tags,
duplicate ID numbers inside the file and against other communities, household heads."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.errors import InvalidInput, PermissionDeniedError
from shequ.core.masking import mask_id_number, mask_phone
from shequ.core.phones import normalize_phone
from shequ.core.regions import Level, level_of
from shequ.core.scoping import has_perm
from shequ.geo.models import Building, Region
from shequ.people import permissions as P
from shequ.people.choices import HouseRelation, RelationToHead, Sensitivity
from shequ.people.importing.reading import (
    COLUMN_LABELS,
    ID_TYPE_WORDS,
    PROGRESS_EVERY,
    CellError,
    Parsed,
    Problem,
    bool_cell,
    choice_cell,
    date_cell,
    id_cell,
    text,
)
from shequ.people.models import Household, Person, TagType
from shequ.people.validation import PersonData, clean_person

BATCH = 500
NOTE_RE = re.compile(r"[:：,，。;；]|^(填表|制表|审核|备注|说明|合计|注)")
TAG_SPLIT = re.compile(r"[,，、;；/\s]+")
TAG_DETAIL = re.compile(r"^(.+?)[(（](.*)[)）]$")
TAG_PERMS = {
    Sensitivity.SENSITIVE: P.VIEW_SENSITIVE_TAGS,
    Sensitivity.RESTRICTED: P.VIEW_RESTRICTED_TAGS,
}


@dataclass
class Place:
    grid: Region
    estate_name: str = ""
    building_name: str = ""
    unit: int = 1
    room: str = ""

    @property
    def has_house(self) -> bool:
        return bool(self.building_name)

    @property
    def key(self) -> tuple:
        return (self.grid.code, self.estate_name, self.building_name, self.unit, self.room)


@dataclass
class Row:
    number: int
    data: PersonData | None
    place: Place | None = None
    household_number: str = ""
    house_relation: str = HouseRelation.FAMILY
    move_in_date: date | None = None
    consistent: bool = True
    registered: bool = False
    tags: list[tuple[TagType, str]] = field(default_factory=list)
    existing: Person | None = None
    present: set[str] = field(default_factory=set)  # fields the file gave a value for


@dataclass
class Outcome:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    written: bool = False
    ignored_headers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Validator:
    """Validate one file for one community (the writer reuses what it looked up).

    `actor` None means the command line (a trusted operator): no permission checks."""

    def __init__(
        self,
        *,
        actor,
        community_code: str,
        default_grid_code: str = "",
        progress: Callable[[int, int], None] | None = None,
    ):
        self.actor = actor
        self.system = actor is None
        self.progress = progress or (lambda done, total: None)
        self.community = self._community(community_code)
        if not self.system and not has_perm(actor, P.IMPORT, self.community.code):
            raise PermissionDeniedError(_("您没有向该社区导入居民的权限。"), code="forbidden")
        self.grids = {
            g.code: g
            for g in Region.objects.filter(
                level=Level.GRID, code__startswith=self.community.code
            ).order_by("code")
        }
        self.grids_by_name = {g.name: g for g in self.grids.values()}
        self.default_grid = None
        if default_grid_code:
            self.default_grid = self.grids.get(default_grid_code)
            if self.default_grid is None:
                raise InvalidInput(
                    _("默认网格 %(g)s 不属于%(c)s。")
                    % {"g": default_grid_code, "c": self.community.name},
                    code="invalid_grid",
                )
        self.tag_types: dict[str, TagType] = {}
        for tag_type in TagType.objects.all():
            self.tag_types[tag_type.name] = tag_type
            self.tag_types[tag_type.code] = tag_type
        self.buildings = self._existing_buildings()
        self.households: dict[str, Household] = {}
        self.today = timezone.localdate()
        # Translated once, not once per row.
        self.labels = {
            "birth_date": _("出生日期"),
            "move_in_date": _("迁入日期"),
            "is_household_consistent": _("人户一致"),
            "is_registered": _("是否落户"),
        }

    @staticmethod
    def _community(code: str) -> Region:
        if level_of(code or "") != Level.COMMUNITY:
            raise InvalidInput(_("社区代码无效：应为 12 位社区/村代码。"), code="invalid_community")
        region = Region.objects.filter(code=code, level=Level.COMMUNITY).first()
        if region is None:
            raise InvalidInput(_("社区 %(c)s 不存在。") % {"c": code}, code="invalid_community")
        return region

    def _existing_buildings(self) -> dict[tuple[str, str], list[Building]]:
        found: dict[tuple[str, str], list[Building]] = {}
        for building in Building.objects.filter(
            region_code__startswith=self.community.code
        ).select_related("estate"):
            key = (building.estate.name if building.estate_id else "", building.name)
            found.setdefault(key, []).append(building)
        return found

    def validate(self, parsed: Parsed) -> tuple[list[Row], Outcome]:
        """Every row checked; problems for all of them; rows ready to write when none."""
        outcome = Outcome(ignored_headers=parsed.ignored_headers)
        rows: list[Row] = []
        seen_ids: dict[str, int] = {}
        heads: dict[str, int] = {}
        total = len(parsed.rows)
        for done, (number, values) in enumerate(parsed.rows, start=1):
            if done % PROGRESS_EVERY == 0:
                self.progress(total + done, 2 * total)
            cells = {
                key: (values[i] if values and i < len(values) else None)
                for key, i in parsed.columns.items()
            }
            if self._is_blank(values, cells):
                continue
            outcome.total += 1
            row = self._row(number, cells, outcome.problems)
            if row is None:
                continue
            id_number = row.data.identity.number
            if id_number in seen_ids:
                outcome.problems.append(
                    Problem(
                        number,
                        COLUMN_LABELS["id_number"],
                        mask_id_number(id_number),
                        _("与第 %(r)d 行的身份证号重复。") % {"r": seen_ids[id_number]},
                    )
                )
                continue
            seen_ids[id_number] = number
            if row.household_number and row.data.relation_to_head == RelationToHead.HEAD:
                if row.household_number in heads:
                    outcome.problems.append(
                        Problem(
                            number,
                            COLUMN_LABELS["relation_to_head"],
                            "户主",
                            _("户号 %(h)s 在第 %(r)d 行已有户主。")
                            % {"h": row.household_number, "r": heads[row.household_number]},
                        )
                    )
                    continue
                heads[row.household_number] = number
            rows.append(row)
        self.progress(2 * total, 2 * total)
        self._check_existing(rows, outcome.problems)
        self._check_households(rows, outcome.problems)
        outcome.problems.sort(key=lambda p: p.row)
        return rows, outcome

    @staticmethod
    def _is_blank(values, cells) -> bool:
        """Empty rows, and a note under the table ("填表人：李社区", "合计 35 人"): one cell, no
        ID number, and punctuation or a note's opening word — a real row missing its ID number
        is still reported."""
        filled = [v for v in values or () if v not in (None, "")]
        if not filled:
            return True
        if len(filled) != 1 or text(cells.get("id_number")):
            return False
        note = text(filled[0])
        return bool(NOTE_RE.search(note))

    def _row(self, number: int, cells: dict, problems: list[Problem]) -> Row | None:
        errors: list[Problem] = []

        def fail(key: str, value: str, message: str) -> None:
            errors.append(Problem(number, COLUMN_LABELS.get(key, key), value, message))

        raw = self._raw_person(cells, fail)
        data = None
        if "id_number" in raw:
            data = clean_person(raw, partial=True)
            for key, message in data.errors.items():
                value = str(raw.get(key) or "")
                if key == "id_number":
                    value = mask_id_number(re.sub(r"\s", "", value))
                    if isinstance(cells.get("id_number"), int):
                        message += _("（该列是数字格式，Excel 可能已改动了号码。）")
                elif key in ("mobile", "landline", "emergency_contact_phone"):
                    value = mask_phone(re.sub(r"\D", "", value))
                fail(key, value[:40], message)
        row = Row(number=number, data=data)
        row.present = {k for k, v in raw.items() if v not in (None, "")}
        row.household_number = text(cells.get("household_number"))[:30]
        if data is not None and data.relation_to_head and not row.household_number:
            fail("household_number", "", _("填写了与户主关系，但没有填写户号。"))
        self._row_details(row, cells, fail)
        if errors:
            problems.extend(errors)
            return None
        return row

    def _raw_person(self, cells: dict, fail) -> dict:
        """Cell values → the raw dict that `clean_person` understands."""
        raw: dict = {}
        try:
            raw["id_number"] = id_cell(cells.get("id_number"))
        except CellError as exc:
            fail("id_number", "", exc.message)
        for key in (
            "name",
            "ethnicity",
            "political_status",
            "registration_type",
            "relation_to_head",
            "emergency_contact_name",
            "id_type",
        ):
            if key in cells:
                raw[key] = text(cells[key])
        if "id_type" in raw:
            raw["id_type"] = ID_TYPE_WORDS.get(raw["id_type"], raw["id_type"])
        gender = text(cells.get("gender"))
        raw["gender"] = {"男": "M", "女": "F"}.get(gender, gender)
        try:
            raw["birth_date"] = date_cell(cells.get("birth_date"), label=self.labels["birth_date"])
        except CellError as exc:
            fail("birth_date", "", exc.message)
        # A phone column may hold a mobile or a landline: sort them by what they are.
        phones = {"mobile": text(cells.get("mobile")), "landline": text(cells.get("landline"))}
        for key, value in list(phones.items()):
            if not value:
                continue
            try:
                phones[key] = normalize_phone(value)
            except InvalidInput as exc:
                fail(key, mask_phone(re.sub(r"\D", "", value)), exc.message)
                phones[key] = ""
        if "-" in phones["mobile"] and not phones["landline"]:
            phones["landline"], phones["mobile"] = phones["mobile"], ""
        if phones["landline"] and "-" not in phones["landline"] and not phones["mobile"]:
            phones["mobile"], phones["landline"] = phones["landline"], ""
        for key in ("mobile", "landline"):
            if key in cells or phones[key]:
                raw[key] = phones[key]
        if "emergency_contact_phone" in cells:
            raw["emergency_contact_phone"] = text(cells["emergency_contact_phone"])
        return raw

    def _row_details(self, row: Row, cells: dict, fail) -> None:
        """House relation, dates, yes/no columns, tags and the place."""
        try:
            row.house_relation = choice_cell(
                cells.get("house_relation"), HouseRelation.choices, HouseRelation.FAMILY
            )
        except CellError as exc:
            fail("house_relation", text(cells.get("house_relation"))[:20], exc.message)
        try:
            row.move_in_date = date_cell(
                cells.get("move_in_date"), label=self.labels["move_in_date"]
            )
            if row.move_in_date and row.move_in_date > self.today:
                raise CellError(_("迁入日期不能晚于今天。"))
        except CellError as exc:
            fail("move_in_date", text(cells.get("move_in_date"))[:20], exc.message)
        for key, default in (("is_household_consistent", True), ("is_registered", False)):
            try:
                value = bool_cell(cells.get(key), label=self.labels[key], default=default)
            except CellError as exc:
                fail(key, text(cells.get(key))[:10], exc.message)
                continue
            if key == "is_household_consistent":
                row.consistent = value
            else:
                row.registered = value
        try:
            row.tags = self._tags(cells.get("tags"))
        except CellError as exc:
            fail("tags", text(cells.get("tags"))[:40], exc.message)
        try:
            row.place = self._place(cells)
        except CellError as exc:
            fail(exc.column, text(cells.get(exc.column))[:40], exc.message)

    def _tags(self, value) -> list[tuple[TagType, str]]:
        """ "低保、残疾（肢体二级）" → [(低保, ""), (残疾, "肢体二级")]."""
        raw = text(value)
        if not raw:
            return []
        result: list[tuple[TagType, str]] = []
        for part in TAG_SPLIT.split(raw):
            if not part:
                continue
            name, detail = part, ""
            match = TAG_DETAIL.match(part)
            if match:
                name, detail = match[1], match[2]
            tag_type = self.tag_types.get(name)
            if tag_type is None:
                raise CellError(_("没有“%(t)s”这个标签。") % {"t": name[:20]})
            perm = TAG_PERMS.get(tag_type.sensitivity)
            if perm and not self.system and not has_perm(self.actor, perm, self.community.code):
                raise CellError(_("您没有导入“%(t)s”标签的权限。") % {"t": tag_type.name})
            if all(t.pk != tag_type.pk for t, _d in result):
                result.append((tag_type, detail[:100]))
        return result

    def _place(self, cells: dict) -> Place:
        grid_value = text(cells.get("grid"))
        estate = text(cells.get("estate"))[:100]
        building = text(cells.get("building"))[:50]
        room = text(cells.get("room"))[:20]
        unit_raw = text(cells.get("unit"))
        unit = 1
        if unit_raw:
            digits = re.sub(r"\D", "", unit_raw)
            if not digits or not 1 <= int(digits) <= 50:
                raise CellError(_("单元“%(u)s”无法识别。") % {"u": unit_raw[:10]}, "unit")
            unit = int(digits)
        if room and not building:
            raise CellError(_("填写了室号，但没有填写楼栋。"), "building")
        grid = None
        if grid_value:
            grid = self.grids.get(grid_value) or self.grids_by_name.get(grid_value)
            if grid is None:
                raise CellError(
                    _("网格“%(g)s”不在%(c)s内（可填网格代码或名称）。")
                    % {"g": grid_value[:20], "c": self.community.name},
                    "grid",
                )
        elif building:
            found = self.buildings.get((estate, building), [])
            if len(found) == 1:
                grid = self.grids.get(found[0].region_code)
            elif len(found) > 1:
                raise CellError(_("社区内有多个同名楼栋，请填写“网格”列以区分。"), "building")
        grid = grid or self.default_grid
        if grid is None:
            raise CellError(_("无法确定所在网格：请填写“网格”列，或在导入时指定默认网格。"), "grid")
        return Place(grid=grid, estate_name=estate, building_name=building, unit=unit, room=room)

    def _check_existing(self, rows: list[Row], problems: list[Problem]) -> None:
        """Upsert by ID number: people already in this community are updated; an ID number
        registered elsewhere is a conflict naming the (masked) existing record."""
        from shequ.people.services import id_hashes

        by_hash: dict[str, Row] = {}
        for row in rows:
            for h in id_hashes(row.data.identity.number):
                by_hash[h] = row
        hashes = list(by_hash)
        for start in range(0, len(hashes), BATCH):
            for person in Person.objects.filter(id_number_hash__in=hashes[start : start + BATCH]):
                row = by_hash[person.id_number_hash]
                if person.region_code.startswith(self.community.code):
                    row.existing = person
                    continue
                problems.append(
                    Problem(
                        row.number,
                        COLUMN_LABELS["id_number"],
                        person.masked_id_number,
                        _(
                            "该证件号码已登记在其他社区：%(name)s（%(id)s）。"
                            "同一证件号码只能登记一人；如已搬来，请先由原社区办理迁出。"
                        )
                        % {"name": person.masked_name, "id": person.masked_id_number},
                    )
                )
                row.data = None
        rows[:] = [r for r in rows if r.data is not None]

    def _check_households(self, rows: list[Row], problems: list[Problem]) -> None:
        numbers = sorted({r.household_number for r in rows if r.household_number})
        for start in range(0, len(numbers), BATCH):
            for household in Household.objects.filter(number__in=numbers[start : start + BATCH]):
                self.households[household.number] = household
        heads = dict(
            Person.objects.filter(
                household__in=[h.pk for h in self.households.values()],
                relation_to_head=RelationToHead.HEAD,
            ).values_list("household_id", "id")
        )
        for row in rows:
            household = self.households.get(row.household_number)
            if household is None:
                continue
            if not household.region_code.startswith(self.community.code):
                problems.append(
                    Problem(
                        row.number,
                        COLUMN_LABELS["household_number"],
                        row.household_number,
                        _("户号 %(h)s 属于其他社区。") % {"h": row.household_number},
                    )
                )
                continue
            head = heads.get(household.pk)
            if (
                row.data.relation_to_head == RelationToHead.HEAD
                and head is not None
                and (row.existing is None or row.existing.pk != head)
            ):
                problems.append(
                    Problem(
                        row.number,
                        COLUMN_LABELS["relation_to_head"],
                        "户主",
                        _("户号 %(h)s 已有户主。") % {"h": row.household_number},
                    )
                )
