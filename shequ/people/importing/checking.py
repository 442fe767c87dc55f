"""Validating every row of an import (nothing is written here): cleaning through the shared
person rules, the row's place (`places`), tags through the vocabulary (`tags`), duplicate ID
numbers inside the file and against other communities, and households (`households`).

Errors refuse the file; warnings (an unknown tag, a row that cannot be put into a household, a
repeated header) are reported while the row still imports."""

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.actors import Actor
from shequ.core.errors import InvalidInput, PermissionDeniedError
from shequ.core.masking import mask_id_number, mask_phone
from shequ.core.phones import normalize_phone
from shequ.core.regions import Level, level_of
from shequ.core.scoping import has_perm, prefix_q
from shequ.geo.models import Region
from shequ.people import permissions as P
from shequ.people.choices import ETHNICITIES, HouseRelation, RelationToHead, Sensitivity
from shequ.people.importing.households import Households
from shequ.people.importing.places import Places, Spot
from shequ.people.importing.reading import (
    COLUMN_LABELS,
    FALSE_WORDS,
    HOUSE_RELATION_WORDS,
    ID_TYPE_WORDS,
    POLITICAL_WORDS,
    PROGRESS_EVERY,
    RELATION_WORDS,
    TRUE_WORDS,
    CellError,
    Parsed,
    Problem,
    bool_cell,
    date_cell,
    id_cell,
    text,
    warning,
)
from shequ.people.importing.tags import TAG_COLUMN, Vocabulary
from shequ.people.models import Household, Person, TagType, id_hashes
from shequ.people.validation import PersonData, clean_person

BATCH = 500
NOTE_RE = re.compile(r"[:：,，。;；]|^(填表|制表|审核|备注|说明|合计|小计|总计|共计|注|以下)")
TAG_SPLIT = re.compile(r"[,，、;；/\s]+")
TAG_DETAIL = re.compile(r"^(.+?)[(（](.*)[)）]$")
TAG_PERMS: dict[int, str] = {
    Sensitivity.SENSITIVE: P.VIEW_SENSITIVE_TAGS,
    Sensitivity.RESTRICTED: P.VIEW_RESTRICTED_TAGS,
}
ETHNICITY_NAMES = None  # filled lazily: "汉" → "汉族"


@dataclass
class Row:
    number: int
    data: PersonData | None
    spot: Spot | None = None
    household_number: str = ""
    house_relation: str = HouseRelation.FAMILY
    move_in_date: date | None = None
    consistent: bool = True
    registered: bool = False
    tags: list[tuple[TagType, str]] = field(default_factory=list)
    existing: Person | None = None
    present: set[str] = field(default_factory=set)  # fields the file gave a value for
    household: Household | None = None  # None: the person's membership is left as it is
    relation: str = ""

    # A row that passed the checks (only those are planned and written) has both.
    @property
    def person_data(self) -> PersonData:
        if self.data is None:
            raise ValueError(f"row {self.number} has no cleaned person")
        return self.data

    @property
    def place(self) -> Spot:
        if self.spot is None:
            raise ValueError(f"row {self.number} has no place")
        return self.spot


@dataclass
class Outcome:
    total: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    written: bool = False
    ignored_headers: list[str] = field(default_factory=list)
    # Per entity: {"created", "updated", "unchanged"}; see importing.planning.
    summary: dict = field(default_factory=dict)
    new_places: dict = field(default_factory=dict)  # names of what the import creates

    @property
    def ok(self) -> bool:
        return not self.problems

    def _people(self, key: str) -> int:
        return self.summary.get("person", {}).get(key, 0)

    @property
    def created(self) -> int:
        return self._people("created")

    @property
    def updated(self) -> int:
        return self._people("updated")

    @property
    def unchanged(self) -> int:
        return self._people("unchanged")

    @property
    def report(self) -> list[dict]:
        return [p.as_dict() for p in self.problems + self.warnings]


class Validator:
    """Validate one file for one community (the planner reuses what it looked up).

    `actor` None means the command line (a trusted operator): no permission checks."""

    def __init__(
        self,
        *,
        actor: Actor,
        community_code: str,
        default_grid_code: str = "",
        create_missing: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ):
        self.actor = actor
        self.system = actor is None
        self.progress = progress or (lambda done, total: None)
        self.community = self._community(community_code)
        if not self.system and not has_perm(actor, P.IMPORT, self.community.code):
            raise PermissionDeniedError(_("您没有向该社区导入居民的权限。"), code="forbidden")
        grids = {
            g.code: g
            for g in Region.objects.filter(
                prefix_q("code", self.community.code), level=Level.GRID
            ).order_by("code")
        }
        default_grid = None
        if default_grid_code:
            default_grid = grids.get(default_grid_code)
            if default_grid is None:
                raise InvalidInput(
                    _("默认网格 %(g)s 不属于%(c)s。")
                    % {"g": default_grid_code, "c": self.community.name},
                    code="invalid_grid",
                )
        self.create_missing = create_missing
        self.vocabulary = Vocabulary()
        self.places = Places(
            community=self.community,
            grids=grids,
            default_grid=default_grid,
            create_missing=create_missing,
        )
        self.households = Households(self.community)
        self.today = timezone.localdate()
        self._allowed_levels: dict[int, bool] = {}
        # code or label → code (labels are lazy translations: resolved once, not per row)
        self.house_relations = {code: code for code in HouseRelation.values} | {
            str(label): code for code, label in HouseRelation.choices
        }
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
        region = (
            Region.objects.filter(code=code, level=Level.COMMUNITY).select_related("parent").first()
        )
        if region is None:
            raise InvalidInput(_("社区 %(c)s 不存在。") % {"c": code}, code="invalid_community")
        return region

    def extra_headers(self) -> dict[str, str]:
        """Column titles the reader should also know: one column per tag."""
        return self.vocabulary.column_titles()

    def validate(self, parsed: Parsed) -> tuple[list[Row], Outcome]:
        """Every row checked; problems and warnings for all of them; rows ready to plan."""
        outcome = Outcome(ignored_headers=parsed.ignored_headers, warnings=list(parsed.warnings))
        rows: list[Row] = []
        seen_ids: dict[str, int] = {}
        total = len(parsed.rows)
        tag_columns = {
            key[len(TAG_COLUMN) :]: i
            for key, i in parsed.columns.items()
            if key.startswith(TAG_COLUMN)
        }
        columns = {k: i for k, i in parsed.columns.items() if not k.startswith(TAG_COLUMN)}
        for done, (number, values) in enumerate(parsed.rows, start=1):
            if done % PROGRESS_EVERY == 0:
                self.progress(total + done, 2 * total)
            cells = {
                key: (values[i] if values and i < len(values) else None)
                for key, i in columns.items()
            }
            if self._is_blank(values, cells, parsed.serial_column):
                continue
            outcome.total += 1
            flags = {
                code: (values[i] if values and i < len(values) else None)
                for code, i in tag_columns.items()
            }
            row = self._row(number, cells, flags, outcome)
            if row is None:
                continue
            id_number = row.person_data.cleaned_identity().number
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
            rows.append(row)
        self.progress(2 * total, 2 * total)
        self._check_existing(rows, outcome.problems)
        rows = self.places.finish(rows, outcome.problems, COLUMN_LABELS)
        self.households.group(rows, outcome.problems, outcome.warnings)
        outcome.problems.sort(key=lambda p: p.row)
        outcome.warnings.sort(key=lambda p: p.row)
        return rows, outcome

    @staticmethod
    def _is_blank(values, cells, serial_column: int | None) -> bool:
        """Empty rows (a 序号 alone counts as empty), and a note under the table ("填表人：
        李社区", "合计 35 人", "以下空白"): one cell, no ID number, and punctuation or a note's
        opening word — a real row missing its ID number is still reported."""
        filled = [
            v
            for i, v in enumerate(values or ())
            if i != serial_column and v is not None and not (isinstance(v, str) and not v.strip())
        ]
        if not filled:
            return True
        if len(filled) != 1 or text(cells.get("id_number")):
            return False
        note = text(filled[0])
        return bool(NOTE_RE.search(note))

    def _row(self, number: int, cells: dict, flags: dict, outcome: Outcome) -> Row | None:
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
        self._row_details(row, cells, flags, fail, outcome.warnings)
        if errors:
            outcome.problems.extend(errors)
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
            "emergency_contact_name",
            "id_type",
        ):
            if key in cells:
                raw[key] = text(cells[key])
        if "id_type" in raw:
            raw["id_type"] = ID_TYPE_WORDS.get(raw["id_type"], raw["id_type"])
        if raw.get("political_status") in POLITICAL_WORDS:
            raw["political_status"] = POLITICAL_WORDS[raw["political_status"]]
        if raw.get("ethnicity"):
            raw["ethnicity"] = _ethnicity(raw["ethnicity"])
        if "relation_to_head" in cells:
            word = text(cells["relation_to_head"])
            code = RELATION_WORDS.get(word.replace(" ", ""), "") if word else ""
            if word and not code:
                fail("relation_to_head", word[:20], _relation_message(word))
            raw["relation_to_head"] = code
        gender = text(cells.get("gender"))
        raw["gender"] = {"男": "M", "女": "F", "男性": "M", "女性": "F"}.get(gender, gender)
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

    def _row_details(self, row: Row, cells: dict, flags: dict, fail, warnings) -> None:
        """House relation, dates, yes/no columns, tags and the place."""
        relation = text(cells.get("house_relation"))
        if relation:
            code = self.house_relations.get(HOUSE_RELATION_WORDS.get(relation, relation))
            if code is None:
                labels = "、".join(str(label) for _c, label in HouseRelation.choices)
                fail(
                    "house_relation",
                    relation[:20],
                    _("应为以下之一：%(labels)s。") % {"labels": labels},
                )
            else:
                row.house_relation = code
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
        row.tags = self._tags(row.number, cells.get("tags"), flags, warnings)
        try:
            row.spot = self.places.resolve(
                grid=text(cells.get("grid")),
                estate=text(cells.get("estate"))[:100],
                building=text(cells.get("building"))[:50],
                unit=text(cells.get("unit")),
                room=text(cells.get("room")),
            )
        except CellError as exc:
            fail(exc.column, text(cells.get(exc.column))[:40], exc.message)

    def _tags(self, number: int, value, flags: dict, warnings) -> list[tuple[TagType, str]]:
        """ "低保户、残疾（肢体二级）" → [(低保, ""), (残疾, "肢体二级")], plus columns per tag
        ("低保" √). A word the vocabulary does not know, or a tag the actor may not import, is a
        warning: the row imports without it."""
        label = COLUMN_LABELS["tags"]
        result: list[tuple[TagType, str]] = []

        def add(tag_type: TagType, detail: str, column: str) -> None:
            if not self._may_import(tag_type):
                warnings.append(
                    warning(
                        number,
                        column,
                        tag_type.name,
                        _("您没有导入“%(t)s”标签的权限：本行已导入，但不含该标签。")
                        % {"t": tag_type.name},
                    )
                )
                return
            if all(t.pk != tag_type.pk for t, _d in result):
                result.append((tag_type, detail[:100]))

        raw = text(value)
        for part in TAG_SPLIT.split(raw) if raw else ():
            if not part:
                continue
            name, detail = part, ""
            match = TAG_DETAIL.match(part)
            if match:
                name, detail = match[1], match[2]
            tag_type = self.vocabulary.lookup(name)
            if tag_type is None:
                warnings.append(warning(number, label, name[:20], self._unknown_tag(name)))
                continue
            add(tag_type, detail, label)
        for code, cell in flags.items():
            tag_type = self.vocabulary.by_code[code]
            flag = text(cell)
            if not flag or flag.lower() in FALSE_WORDS:
                continue
            add(tag_type, "" if flag.lower() in TRUE_WORDS else flag, tag_type.name)
        return result

    def _unknown_tag(self, name: str) -> str:
        near = self.vocabulary.suggest(name)
        message = _("没有“%(t)s”这个标签：本行已导入，但不含该标签。") % {"t": name[:20]}
        if near is not None:
            message += _(
                "最接近的是“%(n)s”；如果是同一个标签的另一种写法，可在“标签写法”中添加。"
            ) % {"n": near.name}
        return message

    def _may_import(self, tag_type: TagType) -> bool:
        perm = TAG_PERMS.get(tag_type.sensitivity)
        if perm is None or self.system:
            return True
        if tag_type.sensitivity not in self._allowed_levels:
            self._allowed_levels[tag_type.sensitivity] = has_perm(
                self.actor, perm, self.community.code
            )
        return self._allowed_levels[tag_type.sensitivity]

    def _check_existing(self, rows: list[Row], problems: list[Problem]) -> None:
        """Upsert by ID number: people already in this community are updated; an ID number
        registered elsewhere is a conflict naming the (masked) existing record."""
        by_hash: dict[str, Row] = {}
        for row in rows:
            for h in id_hashes(row.person_data.cleaned_identity().number):
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


def _ethnicity(value: str) -> str:
    """ "汉" → "汉族" (台账 often leave out 族); anything else unchanged."""
    global ETHNICITY_NAMES
    if ETHNICITY_NAMES is None:
        ETHNICITY_NAMES = {str(name) for _code, name in ETHNICITIES}
    if value not in ETHNICITY_NAMES and value + "族" in ETHNICITY_NAMES:
        return value + "族"
    return value


def _relation_message(word: str) -> str:
    accepted = "、".join(str(label) for _code, label in RelationToHead.choices)
    close = difflib.get_close_matches(word, list(RELATION_WORDS), n=1, cutoff=0.5)
    message = _("与户主关系“%(w)s”无法识别，可填：%(a)s。") % {"w": word[:20], "a": accepted}
    if close:
        message += _("最接近的是“%(c)s”。") % {"c": close[0]}
    return message
