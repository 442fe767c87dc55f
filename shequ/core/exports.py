"""The one writer of every spreadsheet Shequ hands out (xlsx through openpyxl, and CSV).

Used by the resident registry's export and its import validation report
(`shequ.people.exporting`) and by the cockpit's export (`shequ.analytics.export`); every new
export (points settlements, the audit log, consultation, care …) calls `export_write` too.
`tests/test_exports.py` fails when a module writes a workbook or a CSV itself, and when a
registered export has no end-to-end test. docs/exports.md explains the rules.

What every file written here gets:

- **No formulas from data.** A text cell whose first character — after any leading spaces,
  which some spreadsheet imports trim — is `=`, `+`, `-`, `@`, a tab, a carriage return or a
  line feed (OWASP "CSV Injection"; their full-width forms ＝＋－＠ too, which Chinese input
  methods produce) is written as literal text: in xlsx as a string cell with Excel's
  "quote prefix" (what typing a leading `'` does, so the text stays text even when the cell is
  edited), in CSV prefixed with a single quote. In xlsx *every* text cell is stored as a string
  (openpyxl would otherwise turn "=…" into a formula and "#N/A" into an error value); numbers
  stay numbers (-1 is a number, the text "-1+2" is text). CSV fields that are not numbers are
  always quoted, so a separator or quote inside the data cannot start a new cell. Control
  characters that a worksheet cannot hold (NUL …) are removed. Formulas the code itself means
  are `Formula` objects, accepted only in a sheet with `allow_formulas=True`.
- **Masked by default.** Columns are declared with `Column(sensitive=Mask.…)`; their values are
  masked with `shequ.core.masking` unless the caller passes `unmasked_purpose` (the stated
  purpose, at least two characters). Checking that the actor may see the full numbers stays
  with the caller (its own permission).
- **Audited.** One `AuditEvent` per file: who, the export's action, what, the region, the
  number of rows, masked or not, and the purpose as the reason.
- **Streaming.** xlsx is written with openpyxl's write-only workbook and rows are consumed from
  the caller's iterator as they are written, so a 100,000-row export never holds its rows.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from shequ.core.actors import User
from shequ.core.audit import audit_record, register_action_labels
from shequ.core.errors import InvalidInput
from shequ.core.masking import mask_id_number, mask_name, mask_phone

type Label = str | Promise


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


CONTENT_TYPES = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}

# --- formula safety ----------------------------------------------------------------------------

# OWASP's list (=, +, -, @, tab, carriage return, line feed) and the full-width forms.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")
# Spaces a spreadsheet may trim before it parses a cell (ASCII, no-break, ideographic).
LEADING_SPACES = " \u00a0\u3000"
# Characters an xlsx worksheet cannot hold (openpyxl refuses them); removed in CSV as well.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CELL_TEXT_LIMIT = 32_767  # Excel's limit of characters in one cell
SHEET_TITLE_LIMIT = 31
SHEET_TITLE_CLEAN = str.maketrans(dict.fromkeys("[]:*?/\\", "、"))
# A formula the code writes computes over cells; it never reaches outside the workbook.
FORMULA_REFUSED = re.compile(
    r"\||\b(HYPERLINK|WEBSERVICE|FILTERXML|IMPORT\w*|RTD|CALL|REGISTER(\.ID)?|EXEC|DDE\w*)\s*\(",
    re.IGNORECASE,
)


def formula_like(text: str) -> bool:
    """Would a spreadsheet read this text as the start of a formula?"""
    stripped = text.lstrip(LEADING_SPACES)
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def csv_text(text: str) -> str:
    """`text` as a safe CSV field value: control characters removed, a single quote in front of
    anything a spreadsheet would evaluate."""
    text = CONTROL_CHARACTERS.sub("", text)
    return "'" + text if formula_like(text) else text


@dataclass(frozen=True)
class Formula:
    """A formula the code means ("=B2/C2", "=SUM(B2:B9)"), written only in a sheet with
    `allow_formulas=True`. Never build one from data: refer to the cell that holds the data."""

    text: str

    def __post_init__(self) -> None:
        if not self.text.startswith("=") or len(self.text) < 2:
            raise ValueError(f"a formula starts with '=': {self.text!r}")
        if FORMULA_REFUSED.search(self.text):
            raise ValueError(f"formula reaches outside the workbook: {self.text!r}")


class FormulaNotAllowed(ValueError):
    """A `Formula` in a sheet that did not ask for formulas."""


# --- what an export is made of -----------------------------------------------------------------


class Mask(StrEnum):
    """How a sensitive column is masked (shequ.core.masking)."""

    ID_NUMBER = "id_number"
    PHONE = "phone"
    NAME = "name"


MASKS: dict[Mask, Callable[[str | None], str]] = {
    Mask.ID_NUMBER: mask_id_number,
    Mask.PHONE: mask_phone,
    Mask.NAME: mask_name,
}


@dataclass(frozen=True, kw_only=True)
class Column:
    """One column: its header, whether it is masked, its number format and width (xlsx)."""

    label: Label
    sensitive: Mask | None = None
    number_format: str | None = None
    width: float | None = None


@dataclass(frozen=True)
class Formatted:
    """A value with its own number format (xlsx), e.g. a rate in a column of mixed kinds."""

    value: Any
    number_format: str | None = None


@dataclass(kw_only=True)
class Sheet:
    """A worksheet (or the one table of a CSV): optional lines above the header written by the
    code (title, who exported), the header, then `rows` — consumed once, lazily. A row may be
    shorter than the columns (padded), never longer. `counted=False` for notes sheets whose
    lines are not exported records."""

    title: Label
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]] = ()
    preamble: Sequence[Sequence[Any]] = ()
    counted: bool = True
    freeze_header: bool = False
    allow_formulas: bool = False


@dataclass(frozen=True, kw_only=True)
class ExportKind:
    """A registered export: `name` is also its audit action; `url_name` the view that serves
    it (tests download each one with hostile data)."""

    name: str
    label: Label
    url_name: str


@dataclass(frozen=True, kw_only=True)
class Export:
    """A written file, ready for `export_response`."""

    kind: ExportKind
    format: ExportFormat
    content: bytes
    filename: str
    rows: int
    unmasked: bool

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


_registry: dict[str, ExportKind] = {}


def export_kind_register(*, name: str, label: Label, url_name: str) -> ExportKind:
    """Declare an export (at import time of the module that builds it); also labels its audit
    action. Registering the same name twice with different details is a programming error."""
    kind = ExportKind(name=name, label=label, url_name=url_name)
    known = _registry.get(name)
    if known is not None and (known.url_name, str(known.label)) != (url_name, str(label)):
        raise ValueError(f"export {name!r} is already registered differently")
    _registry[name] = kind
    register_action_labels({name: label})
    return kind


def registered_exports() -> dict[str, ExportKind]:
    return dict(_registry)


PURPOSE_MIN_LENGTH = 2


def export_purpose_clean(purpose: str | None) -> str | None:
    """None (a masked export) or the stated purpose of an unmasked one, which must say
    something: at least two characters."""
    if purpose is None:
        return None
    purpose = purpose.strip()
    if len(purpose) < PURPOSE_MIN_LENGTH:
        raise InvalidInput(
            _("导出完整信息须填写用途（至少 2 个字），导出记录将写入审计日志。"),
            code="reason_required",
            details={"field": "reason"},
        )
    return purpose


# --- the writer --------------------------------------------------------------------------------


def export_write(
    *,
    actor: User,
    kind: ExportKind,
    sheets: Sequence[Sheet],
    filename: str,
    region_code: str,
    object_repr: str | Callable[[int], str],
    object_type: str = "",
    object_id: str = "",
    details: Mapping[str, Any] | None = None,
    unmasked_purpose: str | None = None,
    format: ExportFormat = ExportFormat.XLSX,
    title: Label = "",
    request=None,
) -> Export:
    """Write `sheets` as one xlsx workbook (or one CSV: exactly one sheet), formula-safe and
    masked unless `unmasked_purpose` is given, and audit it as `kind` (action `kind.name`).

    `filename` is without extension; `object_repr` may be a function of the number of rows
    written (counted sheets only); `details` are added to the audit row's details."""
    if kind.name not in _registry:
        raise ValueError(f"export {kind.name!r} is not registered")
    purpose = export_purpose_clean(unmasked_purpose)
    unmasked = purpose is not None
    format = ExportFormat(format)
    now = timezone.localtime()
    if format is ExportFormat.CSV:
        if len(sheets) != 1:
            raise ValueError("a CSV file holds exactly one sheet")
        content, rows = _write_csv(sheets[0], unmasked=unmasked)
    else:
        who = _who(actor)
        description = _("导出人：%(who)s；导出时间：%(at)s；用途：%(why)s") % {
            "who": who,
            "at": f"{now:%Y-%m-%d %H:%M}",
            "why": purpose or "-",
        }
        content, rows = _write_xlsx(
            sheets,
            unmasked=unmasked,
            creator=getattr(actor, "username", "") or "",
            title=str(title or kind.label),
            description=description,
        )
    audit_record(
        actor=actor,
        action=kind.name,
        object_type=object_type or kind.name,
        object_id=object_id,
        object_repr=object_repr(rows) if callable(object_repr) else object_repr,
        region_code=region_code,
        reason=purpose or "",
        request=request,
        details={
            **(details or {}),
            "count": rows,
            "format": str(format),
            "unmasked": unmasked,
            "sensitive_columns": sorted(
                {str(c.label) for s in sheets for c in s.columns if c.sensitive}
            ),
        },
    )
    return Export(
        kind=kind,
        format=format,
        content=content,
        filename=f"{filename}.{format}",
        rows=rows,
        unmasked=unmasked,
    )


def export_response(export: Export) -> HttpResponse:
    """The download of a written export (never cached: it may hold personal data)."""
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = content_disposition_header(True, export.filename)
    response["Cache-Control"] = "no-store"
    response.export = export  # type: ignore[attr-defined]  # tests: the file came from here
    return response


def template_response(content: bytes, *, filename: str) -> HttpResponse:
    """The download of a blank form written by the code (the people import template): no data
    from the database, so nothing to mask or audit."""
    response = HttpResponse(content, content_type=CONTENT_TYPES[ExportFormat.XLSX])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def _who(actor: User) -> str:
    username = getattr(actor, "username", "") or "-"
    full_name = getattr(actor, "full_name", "") or username
    return f"{username}（{full_name}）"


def _plain(value: Any) -> Any:
    """A value a spreadsheet can hold: numbers, dates (local, naive), text or None."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None)
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date | dt.timedelta):
        return value
    return str(value)  # lazy translations, enums, model instances …


def _masked(value: Any, column: Column, unmasked: bool) -> Any:
    if column.sensitive is None or unmasked or value is None or value == "":
        return value
    return MASKS[column.sensitive](str(value))


def _padded(row: Sequence[Any], columns: Sequence[Column]) -> list[Any]:
    values = list(row)
    if len(values) > len(columns):
        raise ValueError(f"row has {len(values)} values for {len(columns)} columns")
    return values + [None] * (len(columns) - len(values))


# --- xlsx --------------------------------------------------------------------------------------

BOLD = Font(bold=True)


def _write_xlsx(
    sheets: Sequence[Sheet], *, unmasked: bool, creator: str, title: str, description: str
) -> tuple[bytes, int]:
    book = Workbook(write_only=True)
    book.properties.creator = creator
    book.properties.title = title
    book.properties.description = description
    try:
        counted = _fill_xlsx(book, sheets, unmasked=unmasked)
        buffer = io.BytesIO()
        book.save(buffer)
    except BaseException:
        _discard(book)
        raise
    return buffer.getvalue(), counted


def _fill_xlsx(book: Workbook, sheets: Sequence[Sheet], *, unmasked: bool) -> int:
    counted = 0
    titles: set[str] = set()
    for sheet in sheets:
        ws = book.create_sheet(_sheet_title(sheet.title, titles))
        for index, column in enumerate(sheet.columns, start=1):
            if column.width:
                ws.column_dimensions[get_column_letter(index)].width = column.width
        if sheet.freeze_header:
            ws.freeze_panes = f"A{len(sheet.preamble) + 2}"
        for line in sheet.preamble:
            ws.append([_xlsx_cell(ws, value) for value in line])
        ws.append([_xlsx_cell(ws, column.label, bold=True) for column in sheet.columns])
        for row in sheet.rows:
            ws.append(
                [
                    _xlsx_cell(
                        ws,
                        _masked(value, column, unmasked),
                        number_format=column.number_format,
                        allow_formulas=sheet.allow_formulas,
                    )
                    for value, column in zip(
                        _padded(row, sheet.columns), sheet.columns, strict=True
                    )
                ]
            )
            if sheet.counted:
                counted += 1
    return counted


def _discard(book: Workbook) -> None:
    """A write that failed halfway (a bad row, a database error while rows stream in): close
    the sheets and delete openpyxl's temporary files, which would otherwise stay until the
    process exits."""
    for ws in book.worksheets:
        with contextlib.suppress(Exception):
            if not ws.closed:
                ws.close()
        writer = getattr(ws, "_writer", None)  # openpyxl's streaming writer owns the file
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.cleanup()


def _sheet_title(title: Label, taken: set[str]) -> str:
    base = str(title).translate(SHEET_TITLE_CLEAN).strip("'")[:SHEET_TITLE_LIMIT] or "Sheet"
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f"({n})"
        name = base[: SHEET_TITLE_LIMIT - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


def _xlsx_cell(
    ws,
    value: Any,
    *,
    number_format: str | None = None,
    bold: bool = False,
    allow_formulas: bool = False,
):
    if isinstance(value, Formatted):
        number_format = value.number_format or number_format
        value = value.value
    if isinstance(value, Formula):
        if not allow_formulas:
            raise FormulaNotAllowed(f"formula {value.text!r} in a sheet without allow_formulas")
        cell = WriteOnlyCell(ws, value.text)  # openpyxl stores "=…" as a formula
    else:
        value = _plain(value)
        if isinstance(value, str):
            text = CONTROL_CHARACTERS.sub("", value)
            cell = WriteOnlyCell(ws, None)
            if text:
                cell.value = text.replace("\r\n", "\n").replace("\r", "\n")[:CELL_TEXT_LIMIT]
                cell.data_type = "s"  # never a formula ("=…") or an error value ("#N/A")
                if formula_like(text):
                    cell.quotePrefix = True
        else:
            cell = WriteOnlyCell(ws, value)
    if number_format:
        cell.number_format = number_format
    if bold:
        cell.font = BOLD
    return cell


# --- CSV ---------------------------------------------------------------------------------------


def _write_csv(sheet: Sheet, *, unmasked: bool) -> tuple[bytes, int]:
    """UTF-8 with a byte-order mark (Excel on Chinese Windows reads it as UTF-8), CRLF lines
    (RFC 4180), every field that is not a number quoted."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    for line in sheet.preamble:
        writer.writerow([_csv_value(value) for value in line])
    writer.writerow([_csv_value(column.label) for column in sheet.columns])
    counted = 0
    for row in sheet.rows:
        writer.writerow(
            [
                _csv_value(_masked(value, column, unmasked), allow_formulas=sheet.allow_formulas)
                for value, column in zip(_padded(row, sheet.columns), sheet.columns, strict=True)
            ]
        )
        if sheet.counted:
            counted += 1
    return ("\ufeff" + buffer.getvalue()).encode("utf-8"), counted


def _csv_value(value: Any, *, allow_formulas: bool = False) -> Any:
    if isinstance(value, Formatted):
        value = value.value
    if isinstance(value, Formula):
        if not allow_formulas:
            raise FormulaNotAllowed(f"formula {value.text!r} in a sheet without allow_formulas")
        return value.text
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return csv_text(str(value))


__all__ = [
    "CONTENT_TYPES",
    "Column",
    "Export",
    "ExportFormat",
    "ExportKind",
    "Formatted",
    "Formula",
    "FormulaNotAllowed",
    "Mask",
    "Sheet",
    "csv_text",
    "export_kind_register",
    "export_purpose_clean",
    "export_response",
    "export_write",
    "formula_like",
    "registered_exports",
    "template_response",
]
