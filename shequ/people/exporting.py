"""Excel exports of the people list (masked by default) and of import reports, written by
`shequ.core.exports` (formula-safe, masked, audited). The blank import template is
`people.importing.template`.

An unmasked export needs `people.export_unmasked` for every exported person's region and a
reason; it is audited and the file itself says who exported it, when and why.
"""

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.accounts.models import User
from shequ.core.errors import InvalidInput
from shequ.core.exports import (
    Column,
    Export,
    Mask,
    Sheet,
    export_kind_register,
    export_purpose_clean,
    export_write,
)
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

PEOPLE_EXPORT = export_kind_register(
    name="people.export", label=gettext_lazy("导出居民名单"), url_name="people-export"
)
IMPORT_REPORT = export_kind_register(
    name="people.import_report",
    label=gettext_lazy("下载导入校验报告"),
    url_name="import-job-report",
)

PEOPLE_COLUMNS = (
    Column(label=gettext_lazy("姓名")),
    Column(label=gettext_lazy("性别")),
    Column(label=gettext_lazy("出生日期"), width=12),
    Column(label=gettext_lazy("证件类型")),
    Column(label=gettext_lazy("证件号码"), sensitive=Mask.ID_NUMBER, width=22),
    Column(label=gettext_lazy("手机号码"), sensitive=Mask.PHONE, width=14),
    Column(label=gettext_lazy("固定电话"), sensitive=Mask.PHONE, width=14),
    Column(label=gettext_lazy("民族")),
    Column(label=gettext_lazy("政治面貌")),
    Column(label=gettext_lazy("户籍类型")),
    Column(label=gettext_lazy("网格代码"), width=17),
    Column(label=gettext_lazy("现住址"), width=30),
    Column(label=gettext_lazy("户号")),
    Column(label=gettext_lazy("与户主关系")),
    Column(label=gettext_lazy("标签"), width=24),
)

REPORT_COLUMNS = (
    Column(label=gettext_lazy("行号")),
    Column(label=gettext_lazy("列"), width=14),
    Column(label=gettext_lazy("值（已脱敏）"), width=24),
    Column(label=gettext_lazy("问题"), width=60),
)


def people_export(
    *,
    actor: User,
    filters: PeopleFilter,
    unmasked: bool = False,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Export:
    """The filtered list as xlsx. ID and phone columns are masked unless `unmasked` (which
    needs `people.export_unmasked` and a reason); every export is audited (`people.export`)."""
    perm = P.EXPORT_UNMASKED if unmasked else P.EXPORT
    require_perm(actor, perm)
    purpose = export_purpose_clean(reason or "") if unmasked else None
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
    preamble: list[list] = [
        [
            _("丹阳智慧社区 · 实有人口导出（含完整证件号码和电话，敏感信息）")
            if unmasked
            else _("丹阳智慧社区 · 实有人口导出（证件号码和电话已脱敏）")
        ],
        [_("导出人：%(who)s　导出时间：%(at)s") % {"who": who, "at": f"{now:%Y-%m-%d %H:%M:%S}"}],
    ]
    if unmasked:
        preamble.append(
            [_("用途：%(why)s。仅限上述用途使用，不得外传；使用后请销毁。") % {"why": purpose}]
        )
    preamble.append([])

    def rows():
        base = qs.select_related("house__building", "household")
        for chunk in iter_people(base, page_order(kind), CHUNK):
            attach_visible_tags(actor, chunk)
            for person in chunk:
                yield _export_row(person)

    codes = scope_codes(actor, perm)
    return export_write(
        actor=actor,
        kind=PEOPLE_EXPORT,
        sheets=[Sheet(title=_("实有人口"), columns=PEOPLE_COLUMNS, preamble=preamble, rows=rows())],
        filename=f"people-{'unmasked' if unmasked else 'masked'}-{now:%Y%m%d-%H%M}",
        title=_("实有人口导出"),
        region_code=(codes[0] if codes and codes is not EVERYTHING else settings.SHEQU_CITY_CODE),
        object_type="people.person",
        object_repr=lambda n: _("实有人口导出 %(n)d 人") % {"n": n},
        details={"filters": filters.as_params()},
        unmasked_purpose=purpose,
        request=request,
    )


def _export_row(person) -> list:
    """One person, unmasked: the writer masks the sensitive columns."""
    return [
        person.name,
        person.get_gender_display(),
        person.birth_date,
        person.get_id_type_display(),
        person.id_number,
        person.mobile,
        person.landline,
        person.get_ethnicity_display(),
        person.get_political_status_display(),
        person.get_registration_type_display(),
        person.region_code,
        str(person.house) if person.house_id else "",
        person.household.number if person.household_id else "",
        person.get_relation_to_head_display(),
        "、".join(str(t.tag_type.name) for t in person.visible_tags),
    ]


def import_report(job, *, actor, request=None) -> Export:
    """The validation report of an import job as xlsx (its values were masked when the job
    was checked); audited as `people.import_report`."""
    return export_write(
        actor=actor,
        kind=IMPORT_REPORT,
        sheets=[
            Sheet(
                title=_("校验报告"),
                columns=REPORT_COLUMNS,
                preamble=[
                    [_("文件：%(f)s　共 %(n)d 处错误") % {"f": job.file_name, "n": job.error_count}]
                ],
                rows=(
                    (problem["row"], problem["column"], problem["value"], problem["message"])
                    for problem in job.report
                ),
            )
        ],
        filename=f"import-report-{job.pk}",
        region_code=job.region_code,
        object_type="people.importjob",
        object_id=str(job.pk),
        object_repr=job.file_name,
        details={"errors": job.error_count},
        request=request,
    )
