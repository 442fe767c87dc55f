"""Factories for the resident registry (plain functions; other apps' tests may use them).

`make_person()` writes through the ORM with the same hashing as the services, so tests that
are not about registration rules stay fast; `valid_id()` hands out unique, well-formed ID
numbers; `xlsx()` builds an Excel file in memory.
"""

import io
import itertools
from datetime import date

from shequ.core.crypto import hash_for
from shequ.core.idnumbers import make_id_number
from shequ.geo.models import House
from shequ.people.choices import HouseRelation, LinkStatus
from shequ.people.models import Household, HouseLink, Person, PersonTag, TagType

_sequence = itertools.count(1)


def valid_id(*, birth: date = date(1980, 5, 17), male: bool = True, address: str = "321181") -> str:
    """A unique, valid 18-character ID number."""
    n = next(_sequence)
    day = date.fromordinal(birth.toordinal() + n // 400)
    seq = (n % 400) * 2 + (1 if male else 0)
    return make_id_number(address, day, seq)


def valid_mobile() -> str:
    return f"199{next(_sequence) + 50_000_000:08d}"


def make_person(
    *,
    grid_code: str | None = None,
    house: House | None = None,
    name: str = "王小明",
    id_number: str | None = None,
    mobile: str = "",
    household: Household | None = None,
    relation_to_head: str = "",
    user=None,
    **extra,
) -> Person:
    if house is None and grid_code is not None:
        house = House.objects.filter(region_code=grid_code).order_by("code").first()
    number = id_number or valid_id()
    person = Person(
        name=name,
        id_number=number,
        id_number_hash=hash_for("people.person", "id_number", number),
        gender="M" if int(number[16]) % 2 else "F",
        birth_date=date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        mobile=mobile,
        mobile_hash=hash_for("people.person", "mobile", mobile),
        region_code=house.region_code if house else grid_code,
        house=house,
        household=household,
        relation_to_head=relation_to_head,
        user=user,
        **extra,
    )
    person.save()
    if house is not None:
        HouseLink.objects.create(
            person=person,
            house=house,
            region_code=house.region_code,
            relation=HouseRelation.FAMILY,
            status=LinkStatus.MOVED_IN,
            start_date=date(2020, 1, 1),
        )
    return person


def tag(person: Person, code: str, **extra) -> PersonTag:
    return PersonTag.objects.create(
        person=person,
        tag_type=TagType.objects.get(code=code),
        source=extra.pop("source", "测试"),
        start_date=extra.pop("start_date", date(2024, 1, 1)),
        **extra,
    )


def xlsx(rows: list[list], *, title: str | None = None, number_format: dict | None = None) -> bytes:
    """An .xlsx file whose first sheet holds `rows` (optionally below a merged title row)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(rows[0]), 2))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
