"""The cockpit's xlsx export: the tables of the current view (the same `Table`s the page
shows) and a sheet of formula notes. Rates are stored as fractions formatted as percentages."""

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from shequ.analytics.definitions import BY_KEY, DEFINITIONS
from shequ.analytics.selectors import Cockpit, Table

SHEET_NAME_LIMIT = 31
SHEET_NAME_CLEAN = str.maketrans(dict.fromkeys("[]:*?/\\", "、"))


def _number_format(key: str) -> str | None:
    definition = BY_KEY.get(key)
    if definition is None:
        return None
    return {"rate": "0.0%", "hours": "0.0", "count": "0"}[definition.kind]


def _sheet(book: Workbook, table: Table, first: bool) -> None:
    sheet = book.active if first else book.create_sheet()
    sheet.title = str(table.title).translate(SHEET_NAME_CLEAN)[:SHEET_NAME_LIMIT]
    sheet.append([str(label) for _key, label in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        values = []
        for key, _label in table.columns:
            value = row.get(key)
            if table.id == "kpis" and key == "value":
                values.append((value, _number_format(row["_key"])))
            else:
                values.append((value, _number_format(key)))
        sheet.append([v for v, _fmt in values])
        for cell, (_v, fmt) in zip(sheet[sheet.max_row], values, strict=True):
            if fmt:
                cell.number_format = fmt
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 16


def workbook(cockpit: Cockpit) -> Workbook:
    f = cockpit.f
    book = Workbook()
    for index, table in enumerate(cockpit.tables()):
        _sheet(book, table, index == 0)
    notes = book.create_sheet(_("指标说明"))
    notes.append([_("指标"), _("字段"), _("公式"), _("来源")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for d in DEFINITIONS:
        notes.append([str(d.label), d.key, str(d.formula), str(d.source)])
    notes.append([])
    notes.append([_("区域"), f.region, cockpit.names().get(f.region, "")])
    notes.append([_("时间段"), f"{f.start.isoformat()} – {f.end.isoformat()}"])
    notes.append([_("问题类别"), f.category or _("全部")])
    notes.append([_("导出时间"), timezone.localtime().strftime("%Y-%m-%d %H:%M")])
    notes.append([_("说明"), _("各数值由闭环指标统一口径（shequ.cases.indicators）计算。")])
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["C"].width = 70
    notes.column_dimensions["D"].width = 60
    return book
