"""State changes of the resident registry. Pages, the API, the importer, the admin and the
demo seeder all call these functions.

Each service checks the actor's permission at the record's region, runs in a transaction,
changes state with compare-and-set where a row already exists, and appends an audit row (with
masked representations only — never a plaintext ID or phone number).
"""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from shequ.core.audit import audit_record
from shequ.core.crypto import blind_index_candidates, hash_for
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.regions import Level, level_of
from shequ.core.scoping import has_perm, require_perm
from shequ.geo.models import House, Region
from shequ.people import permissions as P
from shequ.people.choices import (
    HouseholdKind,
    HouseRelation,
    LinkStatus,
    PersonStatus,
    RelationToHead,
    Sensitivity,
)
from shequ.people.models import (
    ID_CONTEXT,
    Household,
    HouseLink,
    ImportJob,
    Person,
    PersonTag,
    TagType,
)
from shequ.people.validation import clean_person, raise_if_errors

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
TAG_LEVEL_PERMS = {
    Sensitivity.SENSITIVE: P.VIEW_SENSITIVE_TAGS,
    Sensitivity.RESTRICTED: P.VIEW_RESTRICTED_TAGS,
}


def _stale() -> ConflictError:
    return ConflictError(_("记录已被他人修改，请刷新后重试。"), code="stale")


def _today() -> date:
    return timezone.localdate()


def id_hashes(number: str) -> list[str]:
    """Hashes of a normalised ID number under every configured key (exact lookup)."""
    return blind_index_candidates(number, context=ID_CONTEXT)


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


def _apply_identity(person: Person, data) -> None:
    identity = data.identity
    person.id_type = identity.id_type
    person.id_number = identity.number
    person.id_number_hash = hash_for("people.person", "id_number", identity.number)
    person.gender = identity.gender
    person.birth_date = identity.birth_date


def _apply_phones(person: Person, data, keys) -> None:
    for name in ("mobile", "landline", "emergency_contact_phone"):
        if name in keys:
            value = getattr(data, name)
            setattr(person, name, value)
            setattr(person, f"{name}_hash", hash_for("people.person", name, value))


def _apply_plain(person: Person, data, keys) -> None:
    for name in (
        "name",
        "ethnicity",
        "political_status",
        "registration_type",
        "relation_to_head",
        "emergency_contact_name",
    ):
        if name in keys:
            setattr(person, name, getattr(data, name))


@dataclass
class Residence:
    """Where a new person lives: a house (preferred) or just a grid."""

    house: House | None = None
    grid_code: str = ""
    relation: str = HouseRelation.FAMILY
    start_date: date | None = None
    is_household_consistent: bool = True
    is_registered: bool = False


def person_create(
    *,
    actor,
    fields: dict,
    residence: Residence,
    household: Household | None = None,
    request=None,
) -> Person:
    """Register a resident (实有人口登记). `fields` holds raw values (cleaned here)."""
    data = clean_person(fields)
    raise_if_errors(data)
    house = residence.house
    region_code = house.region_code if house else grid_region(residence.grid_code).code
    require_perm(actor, P.ADD, region_code)
    if household is not None:
        require_perm(actor, P.CHANGE, household.region_code)
    with transaction.atomic():
        existing = person_by_id_number(data.identity.number)
        if existing is not None:
            raise id_conflict(existing)
        now = timezone.now()
        person = Person(region_code=region_code, house=house, household=household, created_at=now)
        person.updated_at = now
        _apply_identity(person, data)
        _apply_phones(person, data, PERSON_FIELDS)
        _apply_plain(person, data, PERSON_FIELDS)
        if household is None:
            person.relation_to_head = ""
        try:
            with transaction.atomic():
                person.save(force_insert=True)
        except IntegrityError as exc:
            raced = person_by_id_number(data.identity.number)
            if raced is not None:
                raise id_conflict(raced) from exc
            raise ConflictError(_("该户已有户主。"), code="household_head_taken") from exc
        if house is not None:
            HouseLink.objects.create(
                person=person,
                house=house,
                region_code=house.region_code,
                relation=residence.relation,
                status=LinkStatus.MOVED_IN,
                start_date=residence.start_date or _today(),
                is_household_consistent=residence.is_household_consistent,
                is_registered=residence.is_registered,
                created_by=_user(actor),
            )
        audit_record(
            actor=actor,
            action="people.person_create",
            obj=person,
            request=request,
            details={"id_number": person.masked_id_number},
        )
    return person


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def person_update(*, actor, person: Person, fields: dict, request=None) -> Person:
    """Edit a person's own fields (not where they live: see person_move_in)."""
    require_perm(actor, P.CHANGE, person.region_code)
    keys = {k for k in fields if k in PERSON_FIELDS}
    if "id_number" in keys:
        fields = {**{"id_type": person.id_type}, **fields}
    data = clean_person(fields, partial=True)
    raise_if_errors(data)
    if "relation_to_head" in keys and data.relation_to_head and person.household_id is None:
        raise InvalidInput(_("未加入任何户，不能设置与户主关系。"), code="no_household")
    before = {name: getattr(person, name) for name in CHANGEABLE}
    with transaction.atomic():
        if "id_number" in keys:
            existing = person_by_id_number(data.identity.number)
            if existing is not None and existing.pk != person.pk:
                raise id_conflict(existing)
            _apply_identity(person, data)
        _apply_phones(person, data, keys)
        _apply_plain(person, data, keys)
        changed = sorted(k for k, v in before.items() if getattr(person, k) != v)
        if not changed:
            return person
        old_stamp = person.updated_at
        person.updated_at = timezone.now()
        update = {name: getattr(person, name) for name in _columns(changed)}
        update["updated_at"] = person.updated_at
        try:
            with transaction.atomic():
                rows = Person.objects.filter(pk=person.pk, updated_at=old_stamp).update(**update)
        except IntegrityError as exc:
            raise ConflictError(_("该户已有户主。"), code="household_head_taken") from exc
        if rows != 1:
            raise _stale()
        audit_record(
            actor=actor,
            action="people.person_update",
            obj=person,
            request=request,
            details={"fields": changed},
        )
    return person


def _columns(changed: list[str]) -> list[str]:
    columns = []
    for name in changed:
        columns.append(name)
        if name == "id_number":
            columns += ["id_number_hash", "id_type", "gender", "birth_date"]
        elif name in ("mobile", "landline", "emergency_contact_phone"):
            columns.append(f"{name}_hash")
    return columns


def person_reveal(*, actor, person: Person, field: str, reason: str, request=None) -> str:
    """Show one value of one person in full, for a stated reason (audited)."""
    if field not in REVEALABLE:
        raise InvalidInput(_("不能查看该字段。"), code="invalid_field")
    is_self = person.user_id is not None and person.user_id == getattr(actor, "pk", None)
    allowed = has_perm(actor, P.REVEAL, person.region_code) or (
        is_self and has_perm(actor, P.REVEAL_SELF, owner=person.user_id)
    )
    if not allowed:
        raise PermissionDeniedError(_("您没有查看完整信息的权限。"), code="forbidden")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise InvalidInput(
            _("请填写查看理由（至少 2 个字），查看记录将写入审计日志。"),
            code="reason_required",
            details={"field": "reason"},
        )
    audit_record(
        actor=actor,
        action="people.reveal",
        obj=person,
        reason=reason[:500],
        request=request,
        details={"field": field, "self": is_self},
    )
    return getattr(person, field) or ""


def _check_house_scope(actor, house: House) -> None:
    if not has_perm(actor, P.MOVE, house.region_code):
        raise PermissionDeniedError(
            _("该房屋不在您的管辖范围内，不能迁入。"), code="house_out_of_scope"
        )


def person_move_in(
    *,
    actor,
    person: Person,
    house: House,
    relation: str = HouseRelation.FAMILY,
    start_date: date | None = None,
    is_household_consistent: bool = True,
    is_registered: bool = False,
    request=None,
) -> HouseLink:
    """Move a person into a house: end the current link (迁出) and start a new one (迁入).

    History is kept: the old link row stays with its end date. The person's region code
    follows the house, so scoping follows the move."""
    require_perm(actor, P.MOVE, person.region_code)
    _check_house_scope(actor, house)
    if relation not in HouseRelation.values:
        raise InvalidInput(_("与房屋关系无效。"), code="invalid_relation")
    start = start_date or _today()
    if start > _today():
        raise InvalidInput(_("迁入日期不能晚于今天。"), code="invalid_date")
    if person.house_id == house.pk:
        raise ConflictError(_("该居民已住在这套房屋。"), code="already_there")
    with transaction.atomic():
        current = HouseLink.objects.filter(person=person, status=LinkStatus.MOVED_IN).first()
        if current is not None:
            if current.start_date and start < current.start_date:
                raise InvalidInput(
                    _("迁入日期早于原住址的迁入日期（%(d)s）。") % {"d": current.start_date},
                    code="invalid_date",
                )
            _end_link(current, start)
        pending = HouseLink.objects.filter(
            person=person, house=house, status=LinkStatus.PENDING
        ).first()
        now = timezone.now()
        rows = Person.objects.filter(pk=person.pk, house_id=person.house_id).update(
            house=house, region_code=house.region_code, updated_at=now
        )
        if rows != 1:
            raise _stale()
        old_region = person.region_code
        person.house, person.region_code, person.updated_at = house, house.region_code, now
        if pending is not None:
            rows = HouseLink.objects.filter(pk=pending.pk, status=LinkStatus.PENDING).update(
                status=LinkStatus.MOVED_IN,
                start_date=start,
                relation=relation,
                is_household_consistent=is_household_consistent,
                is_registered=is_registered,
            )
            if rows != 1:
                raise _stale()
            link = HouseLink.objects.get(pk=pending.pk)
        else:
            link = HouseLink.objects.create(
                person=person,
                house=house,
                region_code=house.region_code,
                relation=relation,
                status=LinkStatus.MOVED_IN,
                start_date=start,
                is_household_consistent=is_household_consistent,
                is_registered=is_registered,
                created_by=_user(actor),
            )
        audit_record(
            actor=actor,
            action="people.move_in",
            obj=person,
            request=request,
            details={
                "house": house.code,
                "from_region": old_region,
                "to_region": house.region_code,
                "relation": relation,
            },
        )
    return link


def _end_link(link: HouseLink, end: date) -> None:
    rows = HouseLink.objects.filter(pk=link.pk, status=link.status).update(
        status=LinkStatus.MOVED_OUT, end_date=end, ended_at=timezone.now()
    )
    if rows != 1:
        raise _stale()


def person_move_out(
    *, actor, person: Person, end_date: date | None = None, left_city: bool = False, request=None
) -> HouseLink:
    """Move a person out of their current house (迁出). The person keeps their last grid for
    scoping; `left_city` marks them as no longer living here (已迁离)."""
    require_perm(actor, P.MOVE, person.region_code)
    end = end_date or _today()
    if end > _today():
        raise InvalidInput(_("迁出日期不能晚于今天。"), code="invalid_date")
    with transaction.atomic():
        current = HouseLink.objects.filter(person=person, status=LinkStatus.MOVED_IN).first()
        if current is None:
            raise ConflictError(_("该居民当前没有居住房屋。"), code="not_living_anywhere")
        if current.start_date and end < current.start_date:
            raise InvalidInput(_("迁出日期早于迁入日期。"), code="invalid_date")
        _end_link(current, end)
        status = PersonStatus.LEFT if left_city else person.status
        rows = Person.objects.filter(pk=person.pk, house_id=current.house_id).update(
            house=None, status=status, updated_at=timezone.now()
        )
        if rows != 1:
            raise _stale()
        person.house, person.status = None, status
        audit_record(
            actor=actor,
            action="people.move_out",
            obj=person,
            request=request,
            details={"house": current.house.code, "left_city": left_city},
        )
    current.refresh_from_db()
    return current


def house_link_add(
    *,
    actor,
    person: Person,
    house: House,
    relation: str = HouseRelation.OWNER,
    is_registered: bool = False,
    request=None,
) -> HouseLink:
    """Record a relation to a house the person does not live in (e.g. 产权人, 未迁入)."""
    require_perm(actor, P.MOVE, person.region_code)
    _check_house_scope(actor, house)
    with transaction.atomic():
        try:
            with transaction.atomic():
                link = HouseLink.objects.create(
                    person=person,
                    house=house,
                    region_code=house.region_code,
                    relation=relation,
                    status=LinkStatus.PENDING,
                    is_household_consistent=False,
                    is_registered=is_registered,
                    created_by=_user(actor),
                )
        except IntegrityError as exc:
            raise ConflictError(_("已有该房屋的关联记录。"), code="link_exists") from exc
        audit_record(
            actor=actor,
            action="people.house_link_add",
            obj=person,
            request=request,
            details={"house": house.code, "relation": relation},
        )
    return link


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


def household_number_for(region_code: str) -> str:
    """A new 户号: the grid code and a sequence inside it."""
    prefix = region_code + "H"
    last = (
        Household.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{seq:05d}"


def household_create(
    *,
    actor,
    house: House | None = None,
    grid_code: str = "",
    number: str = "",
    kind: str = HouseholdKind.FAMILY,
    request=None,
) -> Household:
    region_code = house.region_code if house else grid_region(grid_code).code
    require_perm(actor, P.CHANGE, region_code)
    number = (number or "").strip() or household_number_for(region_code)
    with transaction.atomic():
        try:
            with transaction.atomic():
                household = Household.objects.create(
                    number=number[:30], kind=kind, house=house, region_code=region_code
                )
        except IntegrityError as exc:
            raise ConflictError(
                _("户号 %(n)s 已存在。") % {"n": number}, code="household_number_taken"
            ) from exc
        audit_record(actor=actor, action="people.household_create", obj=household, request=request)
    return household


def person_set_household(
    *, actor, person: Person, household: Household | None, relation_to_head: str, request=None
) -> None:
    """Put a person into a household (or take them out) with their relation to the head."""
    require_perm(actor, P.CHANGE, person.region_code)
    if household is not None:
        require_perm(actor, P.CHANGE, household.region_code)
        if relation_to_head not in RelationToHead.values:
            raise InvalidInput(_("请选择与户主关系。"), code="invalid_relation")
    else:
        relation_to_head = ""
    with transaction.atomic():
        try:
            with transaction.atomic():
                rows = Person.objects.filter(pk=person.pk, household_id=person.household_id).update(
                    household=household,
                    relation_to_head=relation_to_head,
                    updated_at=timezone.now(),
                )
        except IntegrityError as exc:
            raise ConflictError(_("该户已有户主。"), code="household_head_taken") from exc
        if rows != 1:
            raise _stale()
        person.household, person.relation_to_head = household, relation_to_head
        audit_record(
            actor=actor,
            action="people.household_set",
            obj=person,
            request=request,
            details={
                "household": household.number if household else "",
                "relation": relation_to_head,
            },
        )


def person_link_user(*, actor, person: Person, user, request=None) -> None:
    """Link a login account to the person's record (the resident then sees their own data)."""
    require_perm(actor, P.CHANGE, person.region_code)
    with transaction.atomic():
        if Person.objects.filter(user=user).exclude(pk=person.pk).exists():
            raise ConflictError(_("该账号已关联其他居民。"), code="user_taken")
        Person.objects.filter(pk=person.pk).update(user=user)
        person.user = user
        audit_record(
            actor=actor,
            action="people.link_user",
            obj=person,
            request=request,
            details={"user": user.username},
        )


MAX_IMPORT_BYTES = 30 * 1024 * 1024


def import_job_create(
    *,
    actor,
    file_name: str,
    content: bytes,
    community_code: str,
    default_grid_code: str = "",
    dry_run: bool = False,
    request=None,
) -> ImportJob:
    """Accept an uploaded Excel file and queue its import (a background task).

    The file waits encrypted in the job row; the page polls the job for progress and report."""
    from shequ.people.tasks import run_import_job

    require_perm(actor, P.IMPORT, community_code)
    if level_of(community_code) != Level.COMMUNITY:
        raise InvalidInput(_("请选择社区。"), code="invalid_community")
    if default_grid_code and not default_grid_code.startswith(community_code):
        raise InvalidInput(_("默认网格不属于所选社区。"), code="invalid_grid")
    if not file_name.lower().endswith(".xlsx") or not content.startswith(b"PK"):
        raise InvalidInput(
            _("请上传 Excel 工作簿（.xlsx）；旧版 .xls 请先在 Excel 中另存为 .xlsx。"),
            code="invalid_file",
            details={"field": "file"},
        )
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidInput(_("文件过大（最大 30 MB），请拆分后分批导入。"), code="file_too_large")
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by=_user(actor),
            region_code=community_code,
            default_grid_code=default_grid_code,
            dry_run=dry_run,
            file_name=file_name[-200:],
            payload=content,
        )
        audit_record(
            actor=actor,
            action="people.import_upload",
            object_type="people.importjob",
            object_id=str(job.pk),
            object_repr=job.file_name,
            region_code=community_code,
            request=request,
            details={"bytes": len(content), "dry_run": dry_run},
        )

        def enqueue() -> None:
            result = run_import_job.enqueue(job.pk)
            ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])

        transaction.on_commit(enqueue)
    return job
