"""Reading resident 台账 from Excel: find the header (below title rows or merged header rows,
with synonyms for column titles) and turn cells into text, ID numbers, dates and yes/no, with a
Chinese message for anything that cannot be read."""

import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.template.defaultfilters import filesizeformat
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
    "relation_to_head": ("与户主关系", "与户主的关系", "户主关系", "关系", "家庭关系"),
    "grid": ("网格", "所属网格", "网格名称", "网格编码", "网格代码"),
    "estate": ("小区", "小区名称", "自然村", "小区/自然村", "小区名"),
    "building": (
        "楼栋",
        "楼号",
        "幢",
        "栋",
        "楼幢",
        "楼栋号",
        "幢号",
        "栋号",
        "楼幢号",
        "门牌号",
    ),
    "unit": ("单元", "单元号"),
    "room": ("室号", "房号", "户室", "房间号", "室", "房间"),
    "house_relation": ("与房屋关系", "人房关系", "房屋关系"),
    "move_in_date": ("迁入日期", "入住日期", "居住起始日期"),
    "is_household_consistent": ("人户一致", "是否人户一致"),
    "is_registered": ("是否落户", "落户"),
    "tags": ("标签", "人员类别", "特殊人群", "人群类别", "人员标签", "特殊人群类别"),
    "emergency_contact_name": ("紧急联系人", "紧急联系人姓名"),
    "emergency_contact_phone": ("紧急联系人电话", "紧急联系电话", "紧急联系人手机"),
}
# A running number column: recognised so that it is neither data nor an "unknown column".
SERIAL_HEADERS = ("序号", "顺序号")
# Column titles of the downloadable template (in this order).
TEMPLATE_COLUMNS = [
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("id_type", "证件类型"),
    ("gender", "性别"),
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
COLUMN_LABELS = dict(TEMPLATE_COLUMNS) | {"birth_date": "出生日期"}
ID_TYPE_WORDS = {
    "": "",
    "居民身份证": "",
    "身份证": "",
    "港澳台居民居住证": "hmt_permit",
    "居住证": "hmt_permit",
    "护照": "other",
    "其他": "other",
    "其他证件": "other",
    "其他证件（护照等）": "other",
}
# How 台账 write the relation to the head of the household (GB/T 4761 家庭关系 and the words
# people use) → RelationToHead codes. Anything else is an error naming the accepted words.
RELATION_WORDS = {
    "户主": "head",
    "本人": "head",
    "户主本人": "head",
    "配偶": "spouse",
    "夫": "spouse",
    "妻": "spouse",
    "丈夫": "spouse",
    "妻子": "spouse",
    "夫妻": "spouse",
    "爱人": "spouse",
    "子女": "child",
    "子": "child",
    "女": "child",
    "儿子": "child",
    "女儿": "child",
    "长子": "child",
    "次子": "child",
    "三子": "child",
    "长女": "child",
    "次女": "child",
    "三女": "child",
    "独生子": "child",
    "独生女": "child",
    "养子": "child",
    "养女": "child",
    "继子": "child",
    "继女": "child",
    "父母": "parent",
    "父亲": "parent",
    "母亲": "parent",
    "父": "parent",
    "母": "parent",
    "公公": "parent",
    "婆婆": "parent",
    "岳父": "parent",
    "岳母": "parent",
    "继父": "parent",
    "继母": "parent",
    "祖父母": "grandparent",
    "祖父母/外祖父母": "grandparent",
    "外祖父母": "grandparent",
    "祖父": "grandparent",
    "祖母": "grandparent",
    "外祖父": "grandparent",
    "外祖母": "grandparent",
    "爷爷": "grandparent",
    "奶奶": "grandparent",
    "外公": "grandparent",
    "外婆": "grandparent",
    "孙子女": "grandchild",
    "孙子女/外孙子女": "grandchild",
    "外孙子女": "grandchild",
    "孙子": "grandchild",
    "孙女": "grandchild",
    "外孙": "grandchild",
    "外孙子": "grandchild",
    "外孙女": "grandchild",
    "兄弟姐妹": "sibling",
    "兄": "sibling",
    "弟": "sibling",
    "姐": "sibling",
    "妹": "sibling",
    "哥哥": "sibling",
    "弟弟": "sibling",
    "姐姐": "sibling",
    "妹妹": "sibling",
    "儿媳/女婿": "child_in_law",
    "儿媳": "child_in_law",
    "儿媳妇": "child_in_law",
    "媳妇": "child_in_law",
    "女婿": "child_in_law",
    "其他": "other",
    "其它": "other",
    "其他亲属": "other",
    "亲属": "other",
    "非亲属": "other",
    "侄子": "other",
    "侄女": "other",
    "外甥": "other",
    "外甥女": "other",
    "保姆": "other",
}
HOUSE_RELATION_WORDS = {
    "产权人": "owner",
    "业主": "owner",
    "房主": "owner",
    "户主": "owner",
    "家庭成员": "family",
    "家属": "family",
    "自住": "family",
    "租客": "tenant",
    "租户": "tenant",
    "租住": "tenant",
    "承租人": "tenant",
    "借住": "lodger",
    "寄住": "lodger",
}
POLITICAL_WORDS = {"党员": "cpc", "预备党员": "cpc_probationary", "团员": "cyl"}
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "✓", "✔", "对", "有"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×", "x", "不是", "无"}
DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
EXCEL_EPOCH = date(1899, 12, 30)


# Cells are read NFKC-normalised ("（" → "("): so are the words they are looked up in.
ID_TYPE_WORDS = {unicodedata.normalize("NFKC", k): v for k, v in ID_TYPE_WORDS.items()}
RELATION_WORDS = {unicodedata.normalize("NFKC", k): v for k, v in RELATION_WORDS.items()}
HOUSE_RELATION_WORDS = {
    unicodedata.normalize("NFKC", k): v for k, v in HOUSE_RELATION_WORDS.items()
}


def _norm_header(value) -> str:
    text = unicodedata.normalize("NFKC", str(value or ""))
    text = re.sub(r"[(（][^)）]*[)）]", "", text)
    return re.sub(r"[\s*＊:：]", "", text)


SYNONYMS = {_norm_header(s): key for key, names in HEADERS.items() for s in names}
SERIAL = "serial"


def max_import_bytes() -> int:
    """The size cap of an uploaded 台账: the platform's single-upload cap
    (SHEQU_UPLOAD_MAX_BYTES, 10 MB by default; docs/operations.md)."""
    return settings.SHEQU_UPLOAD_MAX_BYTES


class FileProblem(ServiceError):
    """The file as a whole cannot be read (not an xlsx, no header, no rows …)."""

    code = "import_file_invalid"


class FileTooLarge(FileProblem):
    code = "file_too_large"
    status = 413


def check_size(size: int) -> None:
    """Refuse a file above the cap, before anything reads it."""
    limit = max_import_bytes()
    if size > limit:
        over = size - limit
        raise FileTooLarge(
            _("文件过大：上限为 %(limit)s，本文件 %(size)s（超出 %(over)s）。请拆分后分批导入。")
            % {
                "limit": filesizeformat(limit),
                "size": filesizeformat(size),
                "over": filesizeformat(over),
            },
            details={"field": "file", "limit": limit, "size": size},
        )


@dataclass
class Problem:
    """One bad cell or row: Excel row number, column title, masked value, Chinese message.

    `level` "error" refuses the file; "warning" is reported while the row still imports."""

    row: int
    column: str
    value: str
    message: str
    level: str = "error"

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
            "level": self.level,
        }


def warning(row: int, column: str, value: str, message: str) -> Problem:
    return Problem(row, column, value, message, level="warning")


@dataclass
class Parsed:
    columns: dict[str, int]  # field → column index
    rows: list[tuple[int, tuple]]  # (Excel row number, values)
    header_row: int
    ignored_headers: list[str] = field(default_factory=list)
    serial_column: int | None = None
    warnings: list[Problem] = field(default_factory=list)


def read_rows(
    content: bytes,
    progress: Callable[[int, int], None] | None = None,
    *,
    extra_headers: dict[str, str] | None = None,
) -> Parsed:
    """Read the first worksheet: find the header (below any title/merged rows), then the rows.

    `extra_headers` maps more normalised titles to field keys (a column per tag, "低保" → 是).
    A row repeating the header (pasted pages) is skipped with a warning; a second, different
    header (another table below the first) refuses the file. `progress(done, estimate)` is
    called while reading (the sheet's declared size is only an estimate in read-only mode)."""
    # Imported here: openpyxl takes a second or more to import, and people.services imports this
    # module, so at the top it would be loaded by django.setup() in every process (the worker too).
    from openpyxl import load_workbook  # noqa: PLC0415 - openpyxl takes a second to import

    synonyms = (extra_headers or {}) | SYNONYMS  # the standard titles win
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
        header = _find_header(head, synonyms)
        parsed = Parsed(
            columns=header.columns,
            rows=[],
            header_row=header.last + 1,
            ignored_headers=header.ignored,
            serial_column=header.serial,
        )
        repeat = _RepeatedHeader(header, synonyms)
        number = header.last + 1
        data = parsed.rows

        def take(values) -> None:
            if repeat.check(number, values):
                parsed.warnings.append(
                    warning(
                        number,
                        "",
                        "",
                        _("第 %(r)d 行与表头相同（重复的表头），已跳过。") % {"r": number},
                    )
                )
                return
            data.append((number, values))

        for values in head[header.last + 1 :]:
            number += 1
            take(values)
        for values in rows:
            number += 1
            take(values)
            if progress and number % PROGRESS_EVERY == 0:
                progress(number, max(estimate, number))
            if len(data) > MAX_ROWS:
                raise FileProblem(_("文件行数超过 %(n)d 行，请拆分后分批导入。") % {"n": MAX_ROWS})
    finally:
        workbook.close()
    return parsed


def _recognised(values, synonyms: dict[str, str]) -> dict[int, str]:
    """column → field of the cells of a row that are column titles."""
    found: dict[int, str] = {}
    for col, value in enumerate(values or ()):
        if value is None or isinstance(value, (int, float, date)):
            continue
        key = synonyms.get(_norm_header(value))
        if key:
            found[col] = key
    return found


@dataclass
class _Header:
    columns: dict[str, int]
    first: int  # index of the header's first and last row in the scanned rows
    last: int
    ignored: list[str]
    serial: int | None
    titles: dict[int, str]  # column → field of the main header row


def _find_header(head: list[tuple], synonyms: dict[str, str]) -> _Header:
    """The header is the row with most recognised titles. Rows right above it that also hold
    titles, and a row right below made only of titles (merged two-level headers: 基本信息 /
    居住地址 over 小区、楼栋、房号), contribute the titles of columns it leaves empty. A title
    row (one long cell such as "XX社区实有人口台账（2026年）") is not part of the header. Two
    rows that each name both 姓名 and 身份证号, in different columns, are two headers: refused."""
    found = [_recognised(values, synonyms) for values in head]
    scores = [len(f) for f in found]
    if not scores or max(scores) < 2:
        raise FileProblem(
            _("找不到表头：前 %(n)d 行中没有“姓名”“身份证号”等列名。请使用导入模板。")
            % {"n": HEADER_SCAN_ROWS}
        )
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    block = [best]
    while block[0] > 0 and scores[block[0] - 1] > 0:
        block.insert(0, block[0] - 1)
    below = best + 1
    if below < len(head) and scores[below]:
        filled = [c for c, v in enumerate(head[below] or ()) if v not in (None, "")]
        if {"name", "id_number"} <= set(found[below].values()):
            block.append(below)  # a second full header: the check below decides
        elif scores[below] * 2 >= len(filled) and not set(filled) & set(found[best]):
            block.append(below)  # only titles, and only under columns the header leaves open
    full = [i for i in block if {"name", "id_number"} <= set(found[i].values())]
    for i in full[1:]:
        first = {k: c for c, k in found[full[0]].items() if k in ("name", "id_number")}
        here = {k: c for c, k in found[i].items() if k in ("name", "id_number")}
        if first != here:
            raise FileProblem(
                _(
                    "第 %(a)d 行和第 %(b)d 行都是表头，但“姓名”“身份证号”所在的列不同。"
                    "请只保留一行表头。"
                )
                % {"a": full[0] + 1, "b": i + 1}
            )
    columns: dict[str, int] = {}
    ignored: list[str] = []
    serial: int | None = None
    serial_titles = {_norm_header(t) for t in SERIAL_HEADERS}
    width = max(len(head[i] or ()) for i in block)
    for col in range(width):
        for i in reversed(block):  # the lowest recognised title wins
            key = found[i].get(col)
            if key:
                title = head[i][col]
                if key not in columns:
                    columns[key] = col
                elif key == "mobile" and "landline" not in columns:
                    columns["landline"] = col  # a second 电话 column
                else:
                    ignored.append(str(title))
                break
        else:
            titles = [
                head[i][col]
                for i in block
                if col < len(head[i] or ()) and head[i][col] not in (None, "")
            ]
            if titles and _norm_header(titles[-1]) in serial_titles:
                serial = col if serial is None else serial
            elif titles:
                ignored.append(str(titles[-1]))
    for required in ("name", "id_number"):
        if required not in columns:
            raise FileProblem(
                _("找不到“%(col)s”列：表头应包含 %(names)s 之一。")
                % {"col": COLUMN_LABELS[required], "names": "、".join(HEADERS[required][:3])}
            )
    return _Header(
        columns=columns,
        first=block[0],
        last=block[-1],
        ignored=ignored,
        serial=serial,
        titles=found[best],
    )


class _RepeatedHeader:
    """Finds header rows among the data rows: the same header again (pages pasted one after
    another: skipped) or another table's header (refused). Only rows whose 姓名 or 身份证号
    cell reads like a title are examined, so data rows cost two cheap checks."""

    def __init__(self, header: _Header, synonyms: dict[str, str]):
        self.synonyms = synonyms
        self.name_col = header.columns["name"]
        self.id_col = header.columns["id_number"]
        self.header_row = header.last + 1

    def check(self, number: int, values) -> bool:
        if not values:
            return False
        name = values[self.name_col] if self.name_col < len(values) else None
        id_value = values[self.id_col] if self.id_col < len(values) else None
        suspicious = (isinstance(name, str) and "名" in name) or (
            isinstance(id_value, str) and len(id_value) <= 12 and not id_value[:1].isdigit()
        )
        if not suspicious:
            return False
        found = _recognised(values, self.synonyms)
        if found.get(self.name_col) == "name" and found.get(self.id_col) == "id_number":
            return True
        if len(found) >= 2 and {"name", "id_number"} & set(found.values()):
            raise FileProblem(
                _(
                    "第 %(r)d 行又是一行表头，但列的位置与第 %(h)d 行的表头不同："
                    "一个工作表只能放一张表，请把后面的表拆到单独的文件中导入。"
                )
                % {"r": number, "h": self.header_row}
            )
        return False


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
