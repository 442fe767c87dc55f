"""Special-population tags: add (with source and dates) and end (history kept)."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.scoping import has_perm, require_perm
from shequ.people import permissions as P
from shequ.people.models import (
    Person,
    PersonTag,
    TagType,
)
from shequ.people.services.common import (
    TAG_LEVEL_PERMS,
    _today,
    _user,
)


def _require_tag_level(actor, tag_type: TagType, region_code: str) -> None:
    perm = TAG_LEVEL_PERMS.get(tag_type.sensitivity)
    if perm and not has_perm(actor, perm, region_code):
        raise PermissionDeniedError(_("您没有管理该类标签的权限。"), code="forbidden")


def person_tag_add(
    *,
    actor,
    person: Person,
    tag_type: TagType,
    source: str,
    start_date: date | None = None,
    end_date: date | None = None,
    detail: str = "",
    request=None,
) -> PersonTag:
    """Mark a person as a member of a special population (with source and validity)."""
    require_perm(actor, P.MANAGE_TAGS, person.region_code)
    _require_tag_level(actor, tag_type, person.region_code)
    source = (source or "").strip()
    if not source:
        raise InvalidInput(
            _("请填写标签来源（如民政局、残联、入户走访）。"),
            code="source_required",
            details={"field": "source"},
        )
    start = start_date or _today()
    if end_date and end_date < start:
        raise InvalidInput(_("结束日期不能早于开始日期。"), code="invalid_date")
    with transaction.atomic():
        try:
            with transaction.atomic():
                tag = PersonTag.objects.create(
                    person=person,
                    tag_type=tag_type,
                    detail=(detail or "").strip()[:100],
                    source=source[:100],
                    start_date=start,
                    end_date=end_date,
                    created_by=_user(actor),
                )
        except IntegrityError as exc:
            raise ConflictError(
                _("该居民已有有效的“%(tag)s”标签。") % {"tag": tag_type.name}, code="tag_exists"
            ) from exc
        audit_record(
            actor=actor,
            action="people.tag_add",
            obj=person,
            request=request,
            details={"tag": tag_type.code, "source": tag.source},
        )
    return tag


def person_tag_end(*, actor, tag: PersonTag, end_date: date | None = None, request=None) -> None:
    """End a tag (the row stays as history)."""
    person = tag.person
    require_perm(actor, P.MANAGE_TAGS, person.region_code)
    _require_tag_level(actor, tag.tag_type, person.region_code)
    end = end_date or _today()
    if end < tag.start_date:
        raise InvalidInput(_("结束日期不能早于开始日期。"), code="invalid_date")
    with transaction.atomic():
        rows = PersonTag.objects.filter(pk=tag.pk, end_date__isnull=True).update(end_date=end)
        if rows != 1:
            raise ConflictError(_("该标签已结束。"), code="tag_ended")
        tag.end_date = end
        audit_record(
            actor=actor,
            action="people.tag_end",
            obj=person,
            request=request,
            details={"tag": tag.tag_type.code},
        )
