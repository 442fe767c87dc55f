"""Cleaning and validating a person's fields. One home for the rules used by the forms, the API,
the Excel importer and the services; every error is a Chinese message naming what is wrong."""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from shequ.core.errors import InvalidInput
from shequ.core.idnumbers import clean as clean_id
from shequ.core.idnumbers import parse_id_number
from shequ.core.phones import normalize_mobile, normalize_phone
from shequ.people.choices import (
    ETHNICITIES,
    Gender,
    IdType,
    PoliticalStatus,
    RegistrationType,
    RelationToHead,
)

NAME_RE = re.compile(r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z·\- ]+$")
OTHER_ID_RE = re.compile(r"^[A-Z0-9]{5,20}$")
POLITICAL_CHOICES = PoliticalStatus.choices
REGISTRATION_CHOICES = [
    *RegistrationType.choices,
    ("local", _lazy("户籍")),
    ("floating", _lazy("流动")),
    ("overseas", _lazy("境外")),
]
RELATION_CHOICES = [*RelationToHead.choices, ("head", _lazy("本人"))]
LABELS = {
    "ethnicity": _lazy("民族"),
    "political_status": _lazy("政治面貌"),
    "registration_type": _lazy("户籍类型"),
    "relation_to_head": _lazy("与户主关系"),
}


def clean_name(value) -> str:
    """Trim, NFKC, collapse spaces; Chinese names lose inner spaces ("张 三" → "张三")."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    text = re.sub(r"\s+", " ", text).replace("•", "·").replace("・", "·")
    if text and not re.search(r"[A-Za-z]", text):
        text = text.replace(" ", "")
    return text


def validate_name(value) -> str:
    name = clean_name(value)
    if not name:
        raise InvalidInput(_("姓名不能为空。"), code="invalid_name")
    if len(name) > 50:
        raise InvalidInput(_("姓名过长（最多 50 个字）。"), code="invalid_name")
    if not NAME_RE.match(name):
        bad = next(ch for ch in name if not NAME_RE.match(ch))
        raise InvalidInput(
            _("姓名含有无效字符“%(c)s”：只能包含汉字、字母、间隔号“·”和空格。") % {"c": bad},
            code="invalid_name",
        )
    return name


@dataclass
class Identity:
    id_type: str
    number: str
    gender: str
    birth_date: date | None


def parse_identity(id_number, *, id_type: str | None = None, gender=None, birth_date=None):
    """The normalised identity. ID cards and HK/MO/TW permits give gender and birth date;
    other documents (passports) need them given."""
    if id_type in (None, "", IdType.RESIDENT_ID, IdType.HMT_PERMIT):
        parsed = parse_id_number(id_number)
        return Identity(
            id_type=IdType.HMT_PERMIT if parsed.is_permit else IdType.RESIDENT_ID,
            number=parsed.number,
            gender=parsed.gender,
            birth_date=parsed.birth_date,
        )
    if id_type != IdType.OTHER:
        raise InvalidInput(_("证件类型无效。"), code="invalid_id_type")
    number = clean_id(id_number)
    if not OTHER_ID_RE.match(number):
        raise InvalidInput(
            _("其他证件号码应为 5–20 位字母或数字。"),
            code="invalid_id_number",
            details={"rule": "format"},
        )
    if gender not in (Gender.MALE, Gender.FEMALE):
        raise InvalidInput(_("使用其他证件时须填写性别。"), code="invalid_gender")
    return Identity(id_type=IdType.OTHER, number=number, gender=gender, birth_date=birth_date)


def optional_phone(value, *, mobile_only: bool = False) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    return normalize_mobile(text) if mobile_only else normalize_phone(text)


_choice_maps: dict[tuple[int, str], dict[str, str]] = {}


def _choice_map(choices) -> dict[str, str]:
    """code or label → code, built once per choice list and language (the importer calls this
    for every cell, and each label is a lazy translation)."""
    key = (id(choices), get_language() or "")
    found = _choice_maps.get(key)
    if found is None:
        found = {}
        for code, display in choices:
            found.setdefault(str(display), code)
            found[code] = code
        _choice_maps[key] = found
    return found


def choice(value, choices, *, label, default: str = "") -> str:
    """A choice given by its code or its Chinese label ("汉族", "群众", "户主"). `choices` must
    be a module-level list: its lookup table is cached by identity."""
    text = str(value or "").strip()
    if not text:
        return default
    code = _choice_map(choices).get(text)
    if code is not None:
        return code
    raise InvalidInput(
        _("%(label)s“%(value)s”不是有效的取值。") % {"label": label, "value": text[:20]},
        code="invalid_choice",
    )


@dataclass
class PersonData:
    """Cleaned person fields (plaintext numbers live only in memory)."""

    name: str = ""
    identity: Identity | None = None
    mobile: str = ""
    landline: str = ""
    ethnicity: str = "01"
    political_status: str = PoliticalStatus.MASSES
    registration_type: str = RegistrationType.LOCAL
    relation_to_head: str = ""
    emergency_contact_name: str = ""
    emergency_contact_phone: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def cleaned_identity(self) -> Identity:
        """The cleaned ID (clean_person sets it, or an error, whenever it cleans `id_number`)."""
        if self.identity is None:
            raise ValueError("the ID number was not cleaned")
        return self.identity


def clean_person(raw: dict, *, partial: bool = False) -> PersonData:
    """Clean every field in `raw`, collecting one error per field (so forms and the importer
    can report all of them at once). Keys are model field names; `partial` skips absent keys."""
    data = PersonData()

    def run(key, fn):
        if partial and key not in raw:
            return
        try:
            fn()
        except InvalidInput as exc:
            data.errors[key] = exc.message

    def set_name():
        data.name = validate_name(raw.get("name"))

    def set_identity():
        data.identity = parse_identity(
            raw.get("id_number"),
            id_type=raw.get("id_type"),
            gender=raw.get("gender"),
            birth_date=raw.get("birth_date"),
        )

    def setter(attr, fn):
        return lambda: setattr(data, attr, fn())

    run("name", set_name)
    run("id_number", set_identity)
    run("mobile", setter("mobile", lambda: optional_phone(raw.get("mobile"), mobile_only=True)))
    run("landline", setter("landline", lambda: optional_phone(raw.get("landline"))))
    run(
        "emergency_contact_phone",
        setter(
            "emergency_contact_phone", lambda: optional_phone(raw.get("emergency_contact_phone"))
        ),
    )
    run(
        "emergency_contact_name",
        setter(
            "emergency_contact_name",
            lambda: (
                validate_name(raw["emergency_contact_name"])
                if str(raw.get("emergency_contact_name") or "").strip()
                else ""
            ),
        ),
    )
    for key, choices, default in (
        ("ethnicity", ETHNICITIES, "01"),
        ("political_status", POLITICAL_CHOICES, PoliticalStatus.MASSES),
        ("registration_type", REGISTRATION_CHOICES, RegistrationType.LOCAL),
        ("relation_to_head", RELATION_CHOICES, ""),
    ):
        run(
            key,
            setter(
                key,
                lambda key=key, choices=choices, default=default: choice(
                    raw.get(key), choices, label=LABELS[key], default=default
                ),
            ),
        )
    return data


def raise_if_errors(data: PersonData) -> None:
    if data.errors:
        first = next(iter(data.errors.values()))
        raise InvalidInput(first, code="invalid_person", details={"fields": data.errors})
