"""The downloadable import template (导入模板).

Sheet 1 (居民信息) has the column titles the importer reads, two example rows (a 户主 and a
配偶 of one house, no 户号: the importer groups them into one household), text format for
the number columns (so Excel keeps every digit) and drop-down lists (data validation) on every
coded column, built from the same tables the importer accepts. Sheet 2 (填写说明) explains each
column — required or not, format, example, accepted values — then the general rules. Sheet 3
(可选值) holds the longer lists the drop-downs point at. The lists warn rather than stop, so a
code ("01") or a common spelling ("低保户") can still be typed.
"""

import io
from datetime import date

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from shequ.core.idnumbers import make_id_number
from shequ.people.choices import (
    ETHNICITIES,
    HouseRelation,
    IdType,
    PoliticalStatus,
    RegistrationType,
    RelationToHead,
)
from shequ.people.importing.reading import MAX_ROWS, TEMPLATE_COLUMNS, max_import_bytes
from shequ.people.models import TagType

ROWS = 2000  # rows prepared with formats and drop-downs
EXAMPLE_ID = "11010519491231002X"  # the sample number of GB 11643


def _lists() -> dict[str, list[str]]:
    """Column key → the values its drop-down offers."""
    return {
        "id_type": [str(label) for _c, label in IdType.choices],
        "gender": ["男", "女"],
        "ethnicity": [str(name) for _c, name in ETHNICITIES],
        "political_status": [str(label) for _c, label in PoliticalStatus.choices],
        "registration_type": [str(label) for _c, label in RegistrationType.choices],
        "relation_to_head": [str(label) for _c, label in RelationToHead.choices],
        "house_relation": [str(label) for _c, label in HouseRelation.choices],
        "is_household_consistent": ["是", "否"],
        "is_registered": ["是", "否"],
        "tags": [t.name for t in TagType.objects.order_by("order", "code")],
    }


def _explanations(lists: dict[str, list[str]]) -> dict[str, tuple[str, str, str, str]]:
    """Column key → (required, format, example, accepted values)."""
    yes, no = _("必填"), _("选填")

    def values(key: str) -> str:
        return "、".join(lists[key])

    return {
        "name": (yes, _("文字"), "张三", _("汉字、字母、间隔号“·”和空格")),
        "id_number": (
            yes,
            _("文本（本列已设为文本格式）"),
            EXAMPLE_ID,
            _(
                "18 位身份证号；旧版 15 位号码（自动升级为 18 位）；港澳台居民居住证（81/82/83 开头）；"
                "其他证件须同时填写“证件类型”和“性别”"
            ),
        ),
        "id_type": (no, _("下拉选择；不填即居民身份证"), "居民身份证", values("id_type")),
        "gender": (no, _("下拉选择；仅“其他证件”需要，身份证号已含性别"), "", values("gender")),
        "mobile": (no, _("11 位手机号，可带 +86"), "19900001234", ""),
        "landline": (no, _("区号-号码"), "0511-86881234", ""),
        "ethnicity": (
            no,
            _("下拉选择；不填即汉族"),
            "汉族",
            _("56 个民族及“其他”“外国血统中国籍人士”；也可写“汉”或代码“01”"),
        ),
        "political_status": (
            no,
            _("下拉选择；不填即群众"),
            "群众",
            values("political_status") + _("（也可写“党员”“团员”）"),
        ),
        "registration_type": (
            no,
            _("下拉选择；不填即户籍人口"),
            "户籍人口",
            values("registration_type") + _("（也可写“户籍”“流动”“境外”）"),
        ),
        "household_number": (
            no,
            _("文本"),
            "",
            _(
                "有户号时填写：同一户号的人为一户。不填时，同一房屋（小区、楼栋、单元、室号）中"
                "“与户主关系”为户主的一行及其下面的人编为一户，系统自动编户号"
            ),
        ),
        "relation_to_head": (
            _("编户时必填"),
            _("下拉选择"),
            "户主",
            values("relation_to_head") + _("（也可写“本人”“妻”“子”“女”“父亲”“孙子”等常见称谓）"),
        ),
        "grid": (
            no,
            _("网格名称或 15 位网格代码"),
            "第一网格",
            _("所选社区的网格；填写了小区和楼栋时可不填，按楼栋确定网格"),
        ),
        "estate": (no, _("文字"), "凤凰小区", _("系统中已有的小区或自然村名称")),
        "building": (
            no,
            _("文字"),
            "1幢",
            _("系统中已有的楼栋：“1幢”“1栋”“1号楼”均可；农村住户填门牌号，如“5号”"),
        ),
        "unit": (no, _("数字"), "1", _("1–50；楼栋只有一个单元时可不填")),
        "room": (no, _("文字"), "301", _("楼房必填，如“301”或“301室”；农村住户不填")),
        "house_relation": (no, _("下拉选择；不填即家庭成员"), "产权人", values("house_relation")),
        "move_in_date": (
            no,
            _("日期"),
            "2020-05-01",
            _("如 2024-03-01、2024/3/1 或 2024年3月1日；不得晚于今天"),
        ),
        "is_household_consistent": (
            no,
            _("是/否；不填即是"),
            "是",
            values("is_household_consistent"),
        ),
        "is_registered": (no, _("是/否；不填即否"), "是", values("is_registered")),
        "tags": (
            no,
            _("可填多个，用顿号分隔；括号里可写补充信息"),
            "低保、残疾（肢体二级）",
            values("tags")
            + _(
                "。常见写法（如“低保户”“独居老人”“残疾人”“退役军人”）也能识别；无法识别的标签会提示，该行照常导入"
            ),
        ),
        "emergency_contact_name": (no, _("文字"), "李四", ""),
        "emergency_contact_phone": (no, _("手机号或固定电话"), "19900005678", ""),
    }


def import_template() -> bytes:
    """The template as xlsx bytes."""
    # Imported here: openpyxl takes a second or more to import; only the download needs it.
    from openpyxl import Workbook  # noqa: PLC0415 - openpyxl takes a second to import
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415 - as above
    from openpyxl.utils import get_column_letter, quote_sheetname  # noqa: PLC0415 - as above
    from openpyxl.worksheet.datavalidation import DataValidation  # noqa: PLC0415 - as above

    lists = _lists()
    explanations = _explanations(lists)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one worksheet
    sheet.title = _("居民信息")
    sheet.append([label for _key, label in TEMPLATE_COLUMNS])
    required = {"name", "id_number"}
    for index, (key, _label) in enumerate(TEMPLATE_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="B42318" if key in required else None)
        cell.fill = PatternFill("solid", fgColor="EEF2F6")
    spouse_id = make_id_number("110105", date(1951, 3, 8), 20)  # a synthetic, valid number
    examples = [
        {
            "name": "张三",
            "id_number": EXAMPLE_ID,
            "mobile": "19900001234",
            "ethnicity": "汉族",
            "political_status": "群众",
            "registration_type": "户籍人口",
            "relation_to_head": "户主",
            "grid": "第一网格",
            "estate": "凤凰小区",
            "building": "1幢",
            "unit": "1",
            "room": "301",
            "house_relation": "产权人",
            "move_in_date": date(2020, 5, 1),
            "is_household_consistent": "是",
            "is_registered": "是",
            "tags": "低保",
            "emergency_contact_name": "李四",
            "emergency_contact_phone": "19900005678",
        },
        {
            "name": "李芳",
            "id_number": spouse_id,
            "relation_to_head": "配偶",
            "grid": "第一网格",
            "estate": "凤凰小区",
            "building": "1幢",
            "unit": "1",
            "room": "301",
            "house_relation": "家庭成员",
            "move_in_date": date(2020, 5, 1),
            "tags": "独居老人",
        },
    ]
    for example in examples:
        sheet.append([example.get(key, "") for key, _label in TEMPLATE_COLUMNS])
    sheet.freeze_panes = "A2"

    values_sheet = workbook.create_sheet(_("可选值"))
    list_keys = [key for key, _label in TEMPLATE_COLUMNS if key in lists]
    labels = dict(TEMPLATE_COLUMNS)
    for col, key in enumerate(list_keys, start=1):
        values_sheet.cell(row=1, column=col, value=labels[key]).font = Font(bold=True)
        for row, value in enumerate(lists[key], start=2):
            values_sheet.cell(row=row, column=col, value=value)
        values_sheet.column_dimensions[get_column_letter(col)].width = 18

    for index, (key, label) in enumerate(TEMPLATE_COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 22 if key in ("id_number", "tags") else 14
        if key in (
            "id_number",
            "mobile",
            "landline",
            "emergency_contact_phone",
            "household_number",
        ):
            for row in range(2, ROWS + 1):
                sheet.cell(row=row, column=index).number_format = "@"
        if key == "move_in_date":
            for row in range(2, ROWS + 1):
                sheet.cell(row=row, column=index).number_format = "yyyy-mm-dd"
        if key not in lists:
            continue
        values_col = get_column_letter(list_keys.index(key) + 1)
        source = (
            f"{quote_sheetname(values_sheet.title)}"
            f"!${values_col}$2:${values_col}${len(lists[key]) + 1}"
        )
        validation = DataValidation(type="list", formula1=f"={source}", allow_blank=True)
        validation.errorStyle = "warning"  # a code or another spelling can still be typed
        validation.showErrorMessage = key != "tags"  # several tags in one cell are normal
        validation.errorTitle = _("不在可选值中")
        validation.error = _("“%(c)s”建议从下拉列表中选择。确定要保留这样填写吗？") % {"c": label}
        validation.promptTitle = label
        validation.prompt = explanations[key][1][:250]
        validation.showInputMessage = True
        sheet.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}{ROWS + 1}")

    notes = workbook.create_sheet(_("填写说明"), index=1)
    notes.append([_("列名"), _("是否必填"), _("格式"), _("示例"), _("可填的值与说明")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF2F6")
    for key, label in TEMPLATE_COLUMNS:
        needed, form, sample, accepted = explanations[key]
        notes.append([label, needed, form, sample, accepted])
    notes.append([])
    limit = {"size": filesizeformat(max_import_bytes()), "rows": f"{MAX_ROWS:,}"}
    for line in (
        _("通用规则"),
        _(
            "1. 表头可以在前几行内：上方可以有标题行（如“XX社区实有人口台账”）、合并的多行表头和“序号”列。"
        ),
        _(
            "2. 身份证号请按文本填写（本模板已设为文本格式），否则 Excel 会把 18 位号码存成数字，丢失后几位。"
        ),
        _(
            "3. 小区、楼栋、单元、室号应为系统中已有的；系统中没有的会逐行报错并写明名称。"
            "确需新建时，在导入页勾选“新建系统中没有的小区、楼栋和房屋”，新建的会在报告中列出。"
        ),
        _(
            "4. 没有户号时：同一房屋中，“与户主关系”为户主的一行及其下面的人编为一户；一个房屋有两个户主即两户。"
            "房屋中有家庭成员但没有户主一行时，这些人照常导入，但不编户（报告中提示）。"
        ),
        _(
            "5. 标签写法不限于下拉列表：常见写法都能识别，无法识别的标签会在报告中提示，该行不带这个标签照常导入。"
        ),
        _(
            "6. 建议先“预览”：系统列出将新增、更新和不变的人数、户数、房屋数以及所有提示，确认后再导入。"
            "任何一行有错误时整个文件都不会写入；同一身份证号再次导入只会更新，不会重复登记。"
        ),
        _("7. 文件不超过 %(size)s、最多 %(rows)s 行，更大的文件请拆分后分批导入。") % limit,
        _("8. 示例行中的号码为国家标准中的示例号码或虚构号码，正式导入前请删除示例行。"),
    ):
        notes.append([line])
    notes.cell(row=len(TEMPLATE_COLUMNS) + 3, column=1).font = Font(bold=True)
    for letter, width in zip("ABCDE", (16, 12, 34, 24, 90), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2, max_row=len(TEMPLATE_COLUMNS) + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
