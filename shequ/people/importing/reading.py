"""Reading resident 台账 from Excel: find the header (below title rows or merged header rows,
with synonyms for column titles) and turn cells into text, ID numbers, dates and yes/no, with a
Chinese message for anything that cannot be read."""

import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from shequ.core.errors import ServiceError

PROGRESS_EVERY = 2000
HEADER_SCAN_ROWS = 15
MAX_ROWS = 200_000

# field → header synonyms (compared after normalisation: NFKC, no spaces, no "*", no "(…)").
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "居民姓名", "人员姓名"),
    "id_number": (
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "公民身份证号码",
        "身份证",
        "证件号码",
        "证件号",
    ),
    "id_type": ("证件类型",),
    "gender": ("性别",),
    "birth_date": ("出生日期", "出生年月日"),
    "mobile": ("手机号码", "手机号", "手机", "联系电话", "电话", "电话号码", "联系方式"),
    "landline": ("固定电话", "座机", "固话", "座机号码"),
    "ethnicity": ("民族",),
    "political_status": ("政治面貌",),
    "registration_type": ("户籍类型", "人口类型", "人员类型"),
    "household_number": ("户号", "户编号"),
    "relation_to_head": ("与户主关系", "与户主的关系", "户主关系"),
    "grid": ("网格", "所属网格", "网格名称", "网格编码", "网格代码"),
    "estate": ("小区", "小区名称", "自然村", "小区/自然村", "小区名"),
    "building": ("楼栋", "楼号", "幢", "栋", "楼幢", "楼栋号", "幢号", "门牌号"),
    "unit": ("单元", "单元号"),
    "room": ("室号", "房号", "户室", "房间号", "室"),
    "house_relation": ("与房屋关系", "人房关系", "房屋关系"),
    "move_in_date": ("迁入日期", "入住日期", "居住起始日期"),
    "is_household_consistent": ("人户一致", "是否人户一致"),
    "is_registered": ("是否落户", "落户"),
    "tags": ("标签", "人员类别", "特殊人群", "人群类别", "人员标签"),
    "emergency_contact_name": ("紧急联系人", "紧急联系人姓名"),
    "emergency_contact_phone": ("紧急联系人电话", "紧急联系电话", "紧急联系人手机"),
}
# Column titles of the downloadable template (in this order).
TEMPLATE_COLUMNS = [
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("mobile", "手机号码"),
    ("landline", "固定电话"),
    ("ethnicity", "民族"),
    ("political_status", "政治面貌"),
    ("registration_type", "户籍类型"),
    ("household_number", "户号"),
    ("relation_to_head", "与户主关系"),
    ("grid", "网格"),
    ("estate", "小区"),
    ("building", "楼栋"),
    ("unit", "单元"),
    ("room", "室号"),
    ("house_relation", "与房屋关系"),
    ("move_in_date", "迁入日期"),
    ("is_household_consistent", "人户一致"),
    ("is_registered", "是否落户"),
    ("tags", "标签"),
    ("emergency_contact_name", "紧急联系人"),
    ("emergency_contact_phone", "紧急联系人电话"),
]
COLUMN_LABELS = dict(TEMPLATE_COLUMNS) | {
    "id_type": "证件类型",
    "gender": "性别",
    "birth_date": "出生日期",
}
ID_TYPE_WORDS = {
    "": "",
    "居民身份证": "",
    "身份证": "",
    "港澳台居民居住证": "hmt_permit",
    "居住证": "hmt_permit",
    "护照": "other",
    "其他": "other",
    "其他证件": "other",
}
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "✓", "对"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×", "x", "不是"}
DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
EXCEL_EPOCH = date(1899, 12, 30)


def _norm_header(value) -> str:
    text = unicodedata.normalize("NFKC", str(value or ""))
    text = re.sub(r"[(（][^)）]*[)）]", "", text)
    return re.sub(r"[\s*＊:：]", "", text)


SYNONYMS = {_norm_header(s): key for key, names in HEADERS.items() for s in names}


class FileProblem(ServiceError):
    """The file as a whole cannot be read (not an xlsx, no header, no rows …)."""

    code = "import_file_invalid"


@dataclass
class Problem:
    """One bad cell: Excel row number, column title, masked value, Chinese message."""

    row: int
    column: str
    value: str
    message: str

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class Parsed:
    columns: dict[str, int]  # field → column index
    rows: list[tuple[int, tuple]]  # (Excel row number, values)
    header_row: int
    ignored_headers: list[str] = field(default_factory=list)


def read_rows(content: bytes, progress: Callable[[int, int], None] | None = None) -> Parsed:
    """Read the first worksheet: find the header (below any title/merged rows), then the rows.

    `progress(done, estimate)` is called while reading (the sheet's declared size is only an
    estimate in read-only mode)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise FileProblem(
            _("无法读取文件：请上传 Excel 工作簿（.xlsx）。"), details={"error": type(exc).__name__}
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        estimate = max(sheet.max_row or 0, 1)
        rows = sheet.iter_rows(values_only=True)
        head: list[tuple] = []
        for values in rows:
            head.append(values)
            if len(head) >= HEADER_SCAN_ROWS:
                break
        header_index, columns, ignored = _find_header(head)
        data: list[tuple[int, tuple]] = []
        number = header_index + 1
        for values in head[header_index + 1 :]:
            number += 1
            data.append((number, values))
        for values in rows:
            number += 1
            data.append((number, values))
            if progress and number % PROGRESS_EVERY == 0:
                progress(number, max(estimate, number))
            if len(data) > MAX_ROWS:
                raise FileProblem(_("文件行数超过 %(n)d 行，请拆分后分批导入。") % {"n": MAX_ROWS})
    finally:
        workbook.close()
    return Parsed(columns=columns, rows=data, header_row=header_index + 1, ignored_headers=ignored)


def _find_header(head: list[tuple]) -> tuple[int, dict[str, int], list[str]]:
    """The header is the row with most recognised titles; rows right above it that also hold
    titles (merged two-level headers) contribute the titles of columns the lower row leaves
    empty. A title row (one long cell) above that is not part of the header."""
    scores = [
        sum(1 for v in values if _norm_header(v) in SYNONYMS) if values else 0 for values in head
    ]
    if not scores or max(scores) < 2:
        raise FileProblem(
            _("找不到表头：前 %(n)d 行中没有“姓名”“身份证号”等列名。请使用导入模板。")
            % {"n": HEADER_SCAN_ROWS}
        )
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    block = [best]
    while block[0] > 0 and scores[block[0] - 1] > 0:
        block.insert(0, block[0] - 1)
    columns: dict[str, int] = {}
    ignored: list[str] = []
    width = max(len(head[i]) for i in block)
    for col in range(width):
        for i in reversed(block):  # the lowest recognised title wins
            values = head[i]
            title = values[col] if col < len(values) else None
            key = SYNONYMS.get(_norm_header(title))
            if key:
                if key not in columns:
                    columns[key] = col
                elif key == "mobile" and "landline" not in columns:
                    columns["landline"] = col  # a second 电话 column
                else:
                    ignored.append(str(title))
                break
        else:
            titles = [head[i][col] for i in block if col < len(head[i]) and head[i][col]]
            if titles:
                ignored.append(str(titles[-1]))
    for required in ("name", "id_number"):
        if required not in columns:
            raise FileProblem(
                _("找不到“%(col)s”列：表头应包含 %(names)s 之一。")
                % {"col": COLUMN_LABELS[required], "names": "、".join(HEADERS[required][:3])}
            )
    return best, columns, ignored


# --- cells -------------------------------------------------------------------------------------


class CellError(Exception):
    def __init__(self, message: str, column: str = ""):
        super().__init__(message)
        self.message = message
        self.column = column  # the field at fault, when not the one being read


def text(value) -> str:
    """A cell as trimmed half-width text (whole numbers without ".0", no leading apostrophe)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = unicodedata.normalize("NFKC", str(value)).strip()
    return out[1:] if out.startswith("'") else out


def id_cell(value) -> str:
    """The ID number as text. A number cell is explained: Excel keeps 15 significant digits,
    so an 18-digit number stored as a number has lost its last digits."""
    if isinstance(value, bool):
        raise CellError(_("身份证号格式错误。"))
    if isinstance(value, float):
        if value.is_integer() and len(str(int(value))) == 15:
            return str(int(value))
        raise CellError(
            _(
                "身份证号被 Excel 存成了数字，后几位已丢失（Excel 数字只保留 15 位有效数字）。"
                "请把该列设置为“文本”格式后重新录入。"
            )
        )
    if isinstance(value, int):
        return str(value)
    return text(value)


def date_cell(value, *, label: str) -> date | None:
    """A date typed as an Excel date, an Excel serial number, or text (2024-3-1, 2024/03/01,
    2024.3.1, 2024年3月1日, 20240301)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 80000:
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise CellError(_("%(label)s无法识别。") % {"label": label})
    raw = text(value)
    if not raw:
        return None
    compact = raw.replace(" ", "")
    match = DATE_RE.match(compact)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        if re.fullmatch(r"\d{8}", compact):
            return date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
    except ValueError:
        pass
    raise CellError(
        _("%(label)s“%(v)s”无法识别，请写成 2024-03-01 这样的日期。")
        % {"label": label, "v": raw[:20]}
    )


def bool_cell(value, *, label: str, default: bool) -> bool:
    raw = text(value).lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise CellError(_("%(label)s应填“是”或“否”。") % {"label": label})


def choice_cell(value, choices, default: str) -> str:
    raw = text(value)
    if not raw:
        return default
    for code, label in choices:
        if raw in (code, str(label)):
            return code
    labels = "、".join(str(label) for _c, label in choices)
    raise CellError(_("应为以下之一：%(labels)s。") % {"labels": labels})
