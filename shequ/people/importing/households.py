"""Households (户) of an import. Nothing is written here: rows get the household they belong to
(an existing row, or a planned one with pk None that the writer inserts).

With a 户号, the rows of one number are one household (an existing number is that household).
Community 台账 usually have no 户号: then a household is the people of one house (小区 + 楼栋 +
单元 + 室号) grouped under the row whose 与户主关系 is 户主 —

- in file order, the rows of a house that follow a 户主 belong to that 户主's household, so two
  户主 in one house are two households;
- rows listed before the first 户主 of their house join it when the house has one 户主 in the
  file; with several 户主 they are ambiguous: a warning, and they are not put into a household;
- a house with members but no 户主 row: the members join the household already living in that
  house when there is exactly one; otherwise a warning, and they import as residents of the house
  without a household (importing the 户主 later groups them);
- a 户主 who already heads a household keeps it (so re-importing changes nothing; if the family
  moved, the household moves with its head); a new 户主 starts a new household with a generated
  户号 (grid code + "H" + sequence, as the registry numbers them);
- a row without a relation is neither put into nor taken out of a household; a relation without
  a 户号 or a house cannot be grouped (warning).

A 户号 whose members live in different houses is accepted (人户分离) with a warning; the
household's house is its head's.
"""

from django.utils.translation import gettext as _

from shequ.people.choices import RelationToHead
from shequ.people.importing.reading import COLUMN_LABELS, Problem, warning
from shequ.people.models import Household, Person

BATCH = 500
HEAD = RelationToHead.HEAD


def _rows_text(rows) -> str:
    numbers = [str(r.number) for r in rows[:10]]
    return "、".join(numbers) + ("…" if len(rows) > 10 else "")


class Households:
    def __init__(self, community):
        self.community = community
        self.by_pk: dict[int, Household] = {}
        self.created: list[Household] = []
        self.moved: list[Household] = []  # existing households whose house changes
        self._seq: dict[str, int] = {}
        self._file_numbers: set[str] = set()

    def group(self, rows: list, problems: list[Problem], warnings: list[Problem]) -> None:
        """Set `row.household` (None: membership left as it is) and `row.relation`."""
        self._file_numbers = {r.household_number for r in rows if r.household_number}
        held = {r.existing.household_id for r in rows if r.existing and r.existing.household_id}
        self._load(pks=held)
        numbered = [r for r in rows if r.household_number]
        by_house: dict[int, list] = {}
        for row in rows:
            row.household, row.relation = None, row.data.relation_to_head
            if row.household_number:
                continue
            if not row.relation:
                continue
            if row.spot is None or row.spot.house is None:
                warnings.append(
                    warning(
                        row.number,
                        COLUMN_LABELS["relation_to_head"],
                        "",
                        _(
                            "没有户号，也没有填写房屋（小区、楼栋、室号），无法编户："
                            "本行已导入，但未编入户。"
                        ),
                    )
                )
                continue
            by_house.setdefault(id(row.spot.house), []).append(row)
        self._numbered(numbered, problems, warnings)
        self._by_house(by_house, warnings)

    def _load(self, *, pks=(), numbers=()) -> dict[str, Household]:
        found: dict[str, Household] = {}
        for field, values in (("pk__in", sorted(pks)), ("number__in", sorted(numbers))):
            for start in range(0, len(values), BATCH):
                for household in Household.objects.filter(**{field: values[start : start + BATCH]}):
                    household = self.by_pk.setdefault(household.pk, household)
                    found[household.number] = household
        return found

    # --- with a 户号 -------------------------------------------------------------------------

    def _numbered(self, rows: list, problems: list[Problem], warnings: list[Problem]) -> None:
        if not rows:
            return
        existing = self._load(numbers={r.household_number for r in rows})
        heads = dict(
            Person.objects.filter(
                household__in=[h.pk for h in existing.values()], relation_to_head=HEAD
            ).values_list("household_id", "id")
        )
        groups: dict[str, list] = {}
        for row in rows:
            groups.setdefault(row.household_number, []).append(row)
        for number, members in groups.items():
            household = existing.get(number)
            if household is not None and not household.region_code.startswith(self.community.code):
                for row in members:
                    problems.append(
                        Problem(
                            row.number,
                            COLUMN_LABELS["household_number"],
                            number,
                            _("户号 %(h)s 属于其他社区。") % {"h": number},
                        )
                    )
                continue
            head_rows = [r for r in members if r.relation == HEAD]
            for row in head_rows[1:]:
                problems.append(
                    Problem(
                        row.number,
                        COLUMN_LABELS["relation_to_head"],
                        "户主",
                        _("户号 %(h)s 在第 %(r)d 行已有户主。")
                        % {"h": number, "r": head_rows[0].number},
                    )
                )
            current_head = heads.get(household.pk) if household else None
            for row in head_rows[:1]:
                if current_head is not None and (
                    row.existing is None or row.existing.pk != current_head
                ):
                    problems.append(
                        Problem(
                            row.number,
                            COLUMN_LABELS["relation_to_head"],
                            "户主",
                            _("户号 %(h)s 已有户主。") % {"h": number},
                        )
                    )
            anchor = head_rows[0] if head_rows else members[0]
            if household is None:
                house = anchor.spot.house
                household = Household(
                    number=number,
                    house=house,
                    region_code=house.region_code if house else anchor.spot.grid.code,
                )
                self.created.append(household)
            for row in members:
                row.household = household
                row.relation = row.relation or RelationToHead.OTHER
            houses = {id(r.spot.house) for r in members if r.spot.house is not None}
            if len(houses) > 1:
                warnings.append(
                    warning(
                        members[0].number,
                        COLUMN_LABELS["household_number"],
                        number,
                        _(
                            "户号 %(h)s 的成员住在不同的房屋（第 %(rows)s 行）：按人户分离登记，"
                            "户的居住房屋为户主所在的房屋。"
                        )
                        % {"h": number, "rows": _rows_text(members)},
                    )
                )

    # --- without a 户号: the people of one house under their 户主 ---------------------------

    def _by_house(self, by_house: dict[int, list], warnings: list[Problem]) -> None:
        headless = {
            rows[0].spot.house.pk: rows
            for rows in by_house.values()
            if rows[0].spot.house.pk and not any(r.relation == HEAD for r in rows)
        }
        living: dict[int | None, list[Household]] = {}
        pks = sorted(headless)
        for start in range(0, len(pks), BATCH):
            for household in Household.objects.filter(house_id__in=pks[start : start + BATCH]):
                household = self.by_pk.setdefault(household.pk, household)
                living.setdefault(household.house_id, []).append(household)
        for rows in by_house.values():
            house = rows[0].spot.house
            heads = [r for r in rows if r.relation == HEAD]
            for row in heads:
                row.household = self._household_of_head(row, house)
            current = None
            waiting = []
            for row in rows:
                if row.relation == HEAD:
                    current = row.household
                elif current is not None:
                    row.household = current
                elif len(heads) == 1:
                    row.household = heads[0].household
                else:
                    waiting.append(row)
            if not waiting:
                continue
            if heads:
                for row in waiting:
                    warnings.append(
                        warning(
                            row.number,
                            COLUMN_LABELS["relation_to_head"],
                            "",
                            _(
                                "同一房屋有 %(n)d 个户主，本行在第一个户主（第 %(r)d 行）之前，"
                                "无法确定属于哪一户：本行已导入，但未编入户。请把本行移到所属户主的下面。"
                            )
                            % {"n": len(heads), "r": heads[0].number},
                        )
                    )
                continue
            there = living.get(house.pk, []) if house.pk else []
            if len(there) == 1:
                for row in waiting:
                    row.household = there[0]
                continue
            warnings.append(
                warning(
                    waiting[0].number,
                    COLUMN_LABELS["relation_to_head"],
                    "",
                    _(
                        "该房屋有家庭成员（第 %(rows)s 行）但没有户主一行%(why)s：这些行已导入为该房屋的住户，"
                        "但未编入户。补上户主一行（与户主关系填“户主”）后重新导入即可编户。"
                    )
                    % {
                        "rows": _rows_text(waiting),
                        "why": _("，且该房屋已有 %(n)d 户") % {"n": len(there)} if there else "",
                    },
                )
            )

    def _household_of_head(self, row, house) -> Household:
        person = row.existing
        if person is not None and person.household_id and person.relation_to_head == HEAD:
            household = self.by_pk.get(person.household_id)
            if household is not None:
                if household.house_id != house.pk or house.pk is None:
                    household.house = house  # the family moved with its head
                    household.region_code = house.region_code
                    if household not in self.moved:
                        self.moved.append(household)
                return household
        household = Household(
            number=self._next_number(house.region_code), house=house, region_code=house.region_code
        )
        self.created.append(household)
        return household

    def _next_number(self, region_code: str) -> str:
        prefix = region_code + "H"
        if region_code not in self._seq:
            last = (
                Household.objects.filter(number__startswith=prefix)
                .order_by("-number")
                .values_list("number", flat=True)
                .first()
            )
            tail = last[len(prefix) :] if last else ""
            self._seq[region_code] = int(tail) if tail.isdigit() else 0
        while True:
            self._seq[region_code] += 1
            number = f"{prefix}{self._seq[region_code]:05d}"
            if number not in self._file_numbers:
                return number
