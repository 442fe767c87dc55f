"""Citizen ID numbers (居民身份证号码, GB 11643-1999) and HK/MO/TW residence permits.

An 18-character number is: 6-digit address code, 8-digit birth date YYYYMMDD, 3-digit sequence
(odd = male, even = female) and a check character (ISO 7064 MOD 11-2). Legacy 15-digit numbers
(2-digit year, no check character) are accepted and upgraded to 18. Residence permits for people
from Hong Kong, Macao and Taiwan follow the same layout with address code 810000/820000/830000.
The address code is not checked against Danyang: it is the code at the time of issue.

Every error names the rule that failed, in Chinese ("校验位错误：应为 X").
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.errors import InvalidInput

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
PERMIT_PREFIXES = {"810000": "HK", "820000": "MO", "830000": "TW"}
EARLIEST_BIRTH = date(1850, 1, 1)


@dataclass(frozen=True)
class IdNumber:
    number: str  # normalised 18 characters, upper-case X
    birth_date: date
    gender: str  # "M" | "F"
    is_permit: bool  # HK/MO/TW residence permit
    upgraded_from_15: bool = False


def clean(value) -> str:
    """Full-width to half-width (NFKC), drop spaces and separators, upper-case x."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return re.sub(r"[\s\-_.·]", "", text).upper()


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def upgrade_15(number15: str) -> str:
    """Legacy 15-digit number → 18: insert the century "19" and append the check character."""
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + check_char(first17)


def _error(message: str, rule: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_id_number", details={"rule": rule})


def parse_id_number(value, *, today: date | None = None) -> IdNumber:
    """Validate and normalise an ID number, or raise InvalidInput naming the failed rule."""
    number = clean(value)
    if not number:
        raise _error(_("证件号码不能为空。"), "required")
    upgraded = False
    if len(number) == 15:
        if not number.isdigit():
            raise _error(_("15 位身份证号码只能包含数字。"), "digits")
        _birth("19" + number[6:12], today=today)
        number = upgrade_15(number)
        upgraded = True
    if len(number) != 18:
        raise _error(
            _("位数错误：身份证号码应为 18 位（或旧版 15 位），实际为 %(n)d 位。")
            % {"n": len(number)},
            "length",
        )
    if not number[:17].isdigit():
        raise _error(_("格式错误：前 17 位只能是数字。"), "digits")
    if not (number[17].isdigit() or number[17] == "X"):
        raise _error(_("格式错误：最后一位只能是数字或 X。"), "digits")
    if number[0] == "0" or number[:2] == "00":
        raise _error(_("地址码错误：前 6 位不是有效的行政区划代码。"), "address")
    birth = _birth(number[6:14], today=today)
    expected = check_char(number[:17])
    if number[17] != expected:
        raise _error(_("校验位错误：应为 %(x)s。") % {"x": expected}, "check_digit")
    gender = "M" if int(number[16]) % 2 == 1 else "F"
    return IdNumber(
        number=number,
        birth_date=birth,
        gender=gender,
        is_permit=number[:6] in PERMIT_PREFIXES,
        upgraded_from_15=upgraded,
    )


def _birth(yyyymmdd: str, *, today: date | None) -> date:
    try:
        birth = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise _error(
            _("出生日期错误：第 7–14 位 %(d)s 不是有效日期。") % {"d": yyyymmdd}, "birth_date"
        ) from None
    if birth > (today or timezone.localdate()):
        raise _error(_("出生日期错误：出生日期晚于今天。"), "birth_date")
    if birth < EARLIEST_BIRTH:
        raise _error(_("出生日期错误：出生年份早于 1850 年。"), "birth_date")
    return birth


def normalize_id_number(value) -> str:
    """The normalised 18-character form (the registry's normaliser for hashing)."""
    return parse_id_number(value).number


def make_id_number(address: str, birth: date, sequence: int) -> str:
    """A well-formed number (demo data and tests): address code, birth date, 3-digit sequence."""
    first17 = f"{address}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
