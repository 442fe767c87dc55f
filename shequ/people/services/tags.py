"""Special-population tags: add (with source and dates) and end (history kept); the spellings
of each tag that the import recognises (synonyms)."""

import re
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.accounts.models import User
from shequ.core.audit import audit_record
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.scoping import has_perm, require_perm
from shequ.people import permissions as P
from shequ.people.importing.tags import Vocabulary, normalize_tag
from shequ.people.models import (
    Person,
    PersonTag,
    TagSynonym,
    TagType,
)
from shequ.people.services.common import (
    TAG_LEVEL_PERMS,
    _today,
    _user,
)

# Characters the import uses to separate tags ("低保、残疾") or to add a detail ("残疾（肢体）").
SYNONYM_FORBIDDEN = re.compile(r"[,，、;；/()（）]")


def _require_tag_level(actor: User, tag_type: TagType, region_code: str) -> None:
    perm = TAG_LEVEL_PERMS.get(tag_type.sensitivity)
    if perm and not has_perm(actor, perm, region_code):
        raise PermissionDeniedError(_("您没有管理该类标签的权限。"), code="forbidden")


def person_tag_add(
    *,
    actor: User,
    person: Person,
    tag_type: TagType,
    source: str,
    start_date: date | None = None,
    end_date: date | None = None,
    detail: str = "",
    request: HttpRequest | None = None,
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


def person_tag_end(
    *, actor: User, tag: PersonTag, end_date: date | None = None, request: HttpRequest | None = None
) -> None:
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


def _vocabulary_scope() -> str:
    return settings.SHEQU_CITY_CODE


def tag_synonym_add(
    *, actor: User, tag_type: TagType, text: str, request: HttpRequest | None = None
) -> TagSynonym:
    """Teach the import another spelling of a tag ("低保户" → 低保). City-wide data: needs
    `people.manage_tag_vocabulary` over the whole city. One spelling means one tag."""
    require_perm(actor, P.MANAGE_TAG_VOCABULARY, _vocabulary_scope())
    spelling = normalize_tag(text)

    def refuse(message: str, code: str = "invalid_synonym") -> InvalidInput:
        return InvalidInput(message, code=code, details={"fields": {"text": message}})

    if not spelling:
        raise refuse(_("请填写标签的另一种写法。"))
    if len(spelling) > 30:
        raise refuse(_("写法最多 30 个字。"))
    if SYNONYM_FORBIDDEN.search(spelling):
        raise refuse(
            _(
                "写法中不能有顿号、逗号、分号、斜杠或括号：导入时这些符号用来分隔多个标签或写补充信息。"
            )
        )
    known = Vocabulary().lookup(spelling)
    if known is not None:
        raise refuse(
            _("“%(s)s”已经表示标签“%(t)s”。") % {"s": spelling, "t": known.name},
            code="synonym_taken",
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                synonym = TagSynonym.objects.create(
                    tag_type=tag_type, text=spelling, created_by=_user(actor)
                )
        except IntegrityError as exc:
            raise ConflictError(
                _("“%(s)s”已经是某个标签的写法。") % {"s": spelling}, code="synonym_taken"
            ) from exc
        audit_record(
            actor=actor,
            action="people.tag_synonym_add",
            obj=synonym,
            region_code=_vocabulary_scope(),
            request=request,
            details={"tag": tag_type.code, "text": spelling},
        )
    return synonym


def tag_synonym_remove(
    *, actor: User, synonym: TagSynonym, request: HttpRequest | None = None
) -> None:
    """Forget a spelling: later imports warn about it again (people's tags stay)."""
    require_perm(actor, P.MANAGE_TAG_VOCABULARY, _vocabulary_scope())
    with transaction.atomic():
        deleted, _rows = TagSynonym.objects.filter(pk=synonym.pk).delete()
        if deleted != 1:
            raise ConflictError(_("该写法已被删除。"), code="stale")
        audit_record(
            actor=actor,
            action="people.tag_synonym_remove",
            object_type="people.tagsynonym",
            object_id=str(synonym.pk),
            object_repr=str(synonym),
            region_code=_vocabulary_scope(),
            request=request,
            details={"tag": synonym.tag_type.code, "text": synonym.text},
        )
