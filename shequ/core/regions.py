"""Region codes: city (6 digits) → township (9) → community (12) → grid (15).

Every code is a prefix of its descendants' codes, so "inside my scope" is a prefix test.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    CITY = "city", _("市")
    TOWNSHIP = "township", _("镇/街道")
    COMMUNITY = "community", _("社区/村")
    GRID = "grid", _("网格")


CODE_LENGTHS = {Level.CITY: 6, Level.TOWNSHIP: 9, Level.COMMUNITY: 12, Level.GRID: 15}
LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}
LEVEL_ORDER = [Level.CITY, Level.TOWNSHIP, Level.COMMUNITY, Level.GRID]


def level_of(code: str) -> Level | None:
    """The level a code belongs to, or None when it is not a region code."""
    if not isinstance(code, str) or not code.isdigit() or not code.isascii():
        return None
    return LEVEL_BY_LENGTH.get(len(code))


def is_region_code(code: str) -> bool:
    return level_of(code) is not None


def parent_code(code: str) -> str | None:
    level = level_of(code)
    if level is None or level == Level.CITY:
        return None
    return code[: CODE_LENGTHS[LEVEL_ORDER[LEVEL_ORDER.index(level) - 1]]]


def child_level(level: Level) -> Level | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def is_within(code: str, scope_code: str) -> bool:
    """True when `code` lies inside (or is) the region `scope_code`."""
    return bool(code) and bool(scope_code) and code.startswith(scope_code)


def ancestors(code: str) -> list[str]:
    """Codes of the region itself and every ancestor, city first."""
    return [code[:n] for n in CODE_LENGTHS.values() if n <= len(code)]
