"""Phone numbers: normalisation and validation (mainland mobile; landline with area code)."""

import re
import unicodedata

from django.utils.translation import gettext as _

from shequ.core.errors import InvalidInput

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def _clean(value: str) -> str:
    value = unicodedata.normalize("NFKC", str(value)).strip()
    value = re.sub(r"[\s()（）]", "", value)
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    return value.lstrip("-")


def normalize_mobile(value: str) -> str:
    """An 11-digit mainland mobile number, or InvalidInput naming what is wrong."""
    digits = _clean(value).replace("-", "")
    if not digits.isdigit():
        raise InvalidInput(_("手机号码只能包含数字。"), code="invalid_mobile")
    if len(digits) != 11:
        raise InvalidInput(
            _("手机号码应为 11 位，实际为 %(n)d 位。") % {"n": len(digits)}, code="invalid_mobile"
        )
    if not MOBILE_RE.match(digits):
        raise InvalidInput(_("手机号码应以 13–19 开头。"), code="invalid_mobile")
    return digits


def normalize_phone(value: str) -> str:
    """A mobile number (11 digits) or a landline with area code ("0511-86881234")."""
    cleaned = _clean(value)
    digits = cleaned.replace("-", "")
    if digits.isdigit() and len(digits) == 11 and digits.startswith("1"):
        return normalize_mobile(digits)
    if LANDLINE_RE.match(cleaned):
        if "-" in cleaned:
            return cleaned
        area_len = 3 if cleaned[1] in "12" else 4
        return cleaned[:area_len] + "-" + cleaned[area_len:]
    raise InvalidInput(
        _("电话号码无效：应为 11 位手机号，或带区号的固定电话（如 0511-86881234）。"),
        code="invalid_phone",
    )
