"""Masks for personal data in lists and pages (GB/T 35273): 3211**********0012, 138****1234, 张*明."""

import re


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****1234 for mobiles; 0511-****1234 for landlines (area code kept)."""
    if not value:
        return ""
    if len(value) == 11 and value.isdigit():
        return value[:3] + "****" + value[-4:]
    area, sep, local = value.rpartition("-")
    if len(local) <= 4:
        return area + sep + "*" * len(local)
    return area + sep + "*" * (len(local) - 4) + local[-4:]


def mask_name(value: str | None) -> str:
    """张*明 / 李* / 欧**娜: keep the first and (for three or more characters) the last."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


# ---------------------------------------------------------------------------------------------
# Numbers people type into free text (case descriptions, notes): mobiles with or without +86,
# in full-width digits, with spaces or hyphens; ID numbers written in groups; landlines with an
# area code (0511-86543210, (0511)86543210, +86 511 86543210). Matching runs on a copy of the
# text in which full-width digits, plus, hyphen and space are half-width (one character each,
# so positions stay the same); the masked number replaces the span in the original text.

_FULL_WIDTH = str.maketrans(
    "０１２３４５６７８９＋－—‐　（）",
    "0123456789+--- ()",
)
_SEP = r"[ \-]?"
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])"
    rf"([1-9](?:{_SEP}\d){{16}}{_SEP}[\dXx]|[1-9](?:{_SEP}\d){{14}})"
    r"(?![0-9A-Za-z])"
)
_COUNTRY = r"(?:(?:\+|00)86[ \-]?|\(\+?86\)[ \-]?)"
_MOBILE = re.compile(
    rf"(?<![\d+])({_COUNTRY}|(?<![0-9])86[ \-]?)?(1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?!\d)"
)
_LANDLINE = re.compile(  # the area code: 0 and 2–3 digits, or 2–3 digits after +86
    rf"(?<![\d+])(?:({_COUNTRY})\(?0?([1-9]\d{{1,2}})\)?|\((0[1-9]\d{{1,2}})\)|(0[1-9]\d{{1,2}}))"
    r"[ \-]?(\d{7,8})(?!\d)"
)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit() or ch in "Xx").upper()


def mask_free_text(text: str | None) -> str | None:
    """Mask mobile, ID and landline numbers in text people typed (see the patterns above)."""
    if not text:
        return text
    plain = text.translate(_FULL_WIDTH)
    spans: list[tuple[int, int, str]] = []

    def taken(start: int, end: int) -> bool:
        return any(start < e and s < end for s, e, _ in spans)

    for match in _ID_NUMBER.finditer(plain):
        spans.append((match.start(), match.end(), mask_id_number(_digits(match.group(1)))))
    for match in _MOBILE.finditer(plain):
        if taken(match.start(), match.end()):
            continue
        prefix = "+86 " if match.group(1) else ""
        masked = mask_phone("".join(match.group(2, 3, 4)))
        spans.append((match.start(), match.end(), prefix + masked))
    for match in _LANDLINE.finditer(plain):
        if taken(match.start(), match.end()):
            continue
        area = match.group(2) or match.group(3) or match.group(4)
        area = area if area.startswith("0") else "0" + area
        prefix = "+86 " if match.group(1) else ""
        spans.append((match.start(), match.end(), prefix + mask_phone(f"{area}-{match.group(5)}")))
    for start, end, masked in sorted(spans, reverse=True):
        text = text[:start] + masked + text[end:]
    return text
