"""Shared pieces of the registry services: field lists, ID-number lookups and conflicts."""

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from shequ.accounts.models import User
from shequ.core.actors import Actor
from shequ.core.errors import ConflictError, InvalidInput
from shequ.core.regions import Level, level_of
from shequ.geo.models import Region
from shequ.people import permissions as P
from shequ.people.choices import (
    Sensitivity,
)
from shequ.people.models import (
    Person,
    id_hashes,
)

REVEALABLE = {
    "id_number": _lazy("证件号码"),
    "mobile": _lazy("手机号码"),
    "landline": _lazy("固定电话"),
    "emergency_contact_phone": _lazy("紧急联系人电话"),
}
PERSON_FIELDS = (
    "name",
    "id_number",
    "id_type",
    "gender",
    "birth_date",
    "mobile",
    "landline",
    "ethnicity",
    "political_status",
    "registration_type",
    "relation_to_head",
    "emergency_contact_name",
    "emergency_contact_phone",
)
# Fields an edit may change (gender and birth date follow the ID number).
CHANGEABLE = tuple(f for f in PERSON_FIELDS if f not in ("id_type", "gender", "birth_date"))
TAG_LEVEL_PERMS: dict[int, str] = {
    Sensitivity.SENSITIVE: P.VIEW_SENSITIVE_TAGS,
    Sensitivity.RESTRICTED: P.VIEW_RESTRICTED_TAGS,
}


def _stale() -> ConflictError:
    return ConflictError(_("记录已被他人修改，请刷新后重试。"), code="stale")


def _today() -> date:
    return timezone.localdate()


def person_by_id_number(number: str) -> Person | None:
    return Person.objects.filter(id_number_hash__in=id_hashes(number)).first()


def id_conflict(existing: Person) -> ConflictError:
    """The conflict error for a duplicate ID number, naming the existing record masked."""
    return ConflictError(
        _("该证件号码已登记：%(name)s（%(id)s），同一证件号码只能登记一人。")
        % {"name": existing.masked_name, "id": existing.masked_id_number},
        code="id_number_taken",
        details={
            "field": "id_number",
            "existing": {
                "id": existing.pk,
                "name": existing.masked_name,
                "id_number": existing.masked_id_number,
                "region_code": existing.region_code,
            },
        },
    )


def grid_region(code: str) -> Region:
    """The grid with this code, or InvalidInput."""
    if level_of(code or "") != Level.GRID:
        raise InvalidInput(
            _("网格代码无效：应为 15 位网格代码。"), code="invalid_grid", details={"field": "grid"}
        )
    region = Region.objects.filter(code=code, level=Level.GRID).first()
    if region is None:
        raise InvalidInput(
            _("网格 %(code)s 不存在。") % {"code": code},
            code="invalid_grid",
            details={"field": "grid"},
        )
    return region


def _user(actor: Actor) -> User | None:
    """The actor as a row's creator: no one for the system or an anonymous visitor."""
    return actor if actor is not None and actor.is_authenticated else None
