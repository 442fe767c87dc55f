"""Excel exports of the people list (masked by default) and import reports (the import template
is `people.importing.template`).

An unmasked export needs `people.export_unmasked` for every exported person's region and a
reason; it is audited and the file itself says who exported it, when and why.
"""

import io

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.audit import audit_record
from shequ.core.errors import InvalidInput
from shequ.core.masking import mask_id_number, mask_phone
from shequ.core.scoping import EVERYTHING, require_perm, scope_codes
from shequ.people import permissions as P
from shequ.people.selectors import (
    PeopleFilter,
    apply_filters,
    attach_visible_tags,
    iter_people,
    page_order,
    people_scoped,
)

EXPORT_MAX_ROWS = 100_000
CHUNK = 2000


def _workbook():
    from openpyxl import Workbook

    return Workbook(write_only=True)


def _save(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def people_export(
    *, actor, filters: PeopleFilter, unmasked: bool = False, reason: str = "", request=None
) -> tuple[bytes, str, int]:
    """The filtered list as xlsx: (content, file name, rows). Masked unless `unmasked`."""
    perm = P.EXPORT_UNMASKED if unmasked else P.EXPORT
    require_perm(actor, perm)
    reason = (reason or "").strip()
    if unmasked and len(reason) < 2:
        raise InvalidInput(
            _("导出完整信息须填写用途（至少 2 个字），导出记录将写入审计日志。"),
            code="reason_required",
            details={"field": "reason"},
        )
    # Only people inside the scope of the export permission itself.
    qs, kind, message = apply_filters(people_scoped(actor, perm), actor, filters)
    if message:
        raise InvalidInput(message, code="invalid_search")
    count = qs.order_by()[: EXPORT_MAX_ROWS + 1].count()
    if count > EXPORT_MAX_ROWS:
        raise InvalidInput(
            _("一次最多导出 %(n)s 人，请缩小筛选范围。") % {"n": f"{EXPORT_MAX_ROWS:,}"},
            code="export_too_large",
        )
    now = timezone.localtime()
    who = f"{actor.username}（{getattr(actor, 'full_name', '') or actor.username}）"
    workbook = _workbook()
    workbook.properties.creator = actor.username
    workbook.properties.title = _("实有人口导出")
    workbook.properties.description = _("导出人：%(who)s；导出时间：%(at)s；用途：%(why)s") % {
        "who": who,
        "at": f"{now:%Y-%m-%d %H:%M}",
        "why": reason or "-",
    }
    sheet = workbook.create_sheet(_("实有人口"))
    sheet.append(
        [
            _("丹阳智慧社区 · 实有人口导出（含完整证件号码和电话，敏感信息）")
            if unmasked
            else _("丹阳智慧社区 · 实有人口导出（证件号码和电话已脱敏）")
        ]
    )
    sheet.append(
        [_("导出人：%(who)s　导出时间：%(at)s") % {"who": who, "at": f"{now:%Y-%m-%d %H:%M:%S}"}]
    )
    if unmasked:
        sheet.append(
            [_("用途：%(why)s。仅限上述用途使用，不得外传；使用后请销毁。") % {"why": reason}]
        )
    sheet.append([])
    sheet.append(
        [
            _("姓名"),
            _("性别"),
            _("出生日期"),
            _("证件类型"),
            _("证件号码"),
            _("手机号码"),
            _("固定电话"),
            _("民族"),
            _("政治面貌"),
            _("户籍类型"),
            _("网格代码"),
            _("现住址"),
            _("户号"),
            _("与户主关系"),
            _("标签"),
        ]
    )
    written = 0
    base = qs.select_related("house__building", "household")
    for chunk in iter_people(base, page_order(kind), CHUNK):
        attach_visible_tags(actor, chunk)
        for person in chunk:
            sheet.append(_export_row(person, unmasked))
        written += len(chunk)
    codes = scope_codes(actor, perm)
    audit_record(
        actor=actor,
        action="people.export",
        object_type="people.person",
        object_repr=_("实有人口导出 %(n)d 人") % {"n": written},
        region_code=(codes[0] if codes and codes is not EVERYTHING else settings.SHEQU_CITY_CODE),
        reason=reason,
        request=request,
        details={"count": written, "unmasked": unmasked, "filters": filters.as_params()},
    )
    kind = "unmasked" if unmasked else "masked"
    return _save(workbook), f"people-{kind}-{now:%Y%m%d-%H%M}.xlsx", written


def _export_row(person, unmasked: bool) -> list:
    id_number = person.id_number if unmasked else mask_id_number(person.id_number)
    mobile = person.mobile if unmasked else mask_phone(person.mobile)
    landline = person.landline if unmasked else mask_phone(person.landline)
    return [
        person.name,
        person.get_gender_display(),
        person.birth_date,
        person.get_id_type_display(),
        id_number,
        mobile,
        landline,
        person.get_ethnicity_display(),
        person.get_political_status_display(),
        person.get_registration_type_display(),
        person.region_code,
        str(person.house) if person.house_id else "",
        person.household.number if person.household_id else "",
        person.get_relation_to_head_display(),
        "、".join(str(t.tag_type.name) for t in person.visible_tags),
    ]


def import_report(job) -> bytes:
    """The validation report of an import job as xlsx (values already masked)."""
    workbook = _workbook()
    sheet = workbook.create_sheet(_("校验报告"))
    sheet.append([_("文件：%(f)s　共 %(n)d 处错误") % {"f": job.file_name, "n": job.error_count}])
    sheet.append([_("行号"), _("列"), _("值（已脱敏）"), _("问题")])
    for problem in job.report:
        sheet.append([problem["row"], problem["column"], problem["value"], problem["message"]])
    return _save(workbook)
