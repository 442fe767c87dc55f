"""Masks for personal data in lists and pages (GB/T 35273): 3211**********0012, 138****1234, 张*明."""


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
