"""The cockpit's xlsx export: the tables of the current view (the same `Table`s the page
shows) and a sheet of formula notes, written by `shequ.core.exports` (formula-safe, audited as
`analytics.export`). Rates are stored as fractions formatted as percentages."""

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.accounts.models import User
from shequ.analytics.definitions import BY_KEY, DEFINITIONS
from shequ.analytics.selectors import Cockpit, Table
from shequ.core.exports import (
    Column,
    Export,
    Formatted,
    Sheet,
    export_kind_register,
    export_write,
)

COCKPIT_EXPORT = export_kind_register(
    name="analytics.export", label=gettext_lazy("导出驾驶舱数据"), url_name="analytics-export"
)


def _number_format(key: str) -> str | None:
    definition = BY_KEY.get(key)
    if definition is None:
        return None
    return {"rate": "0.0%", "hours": "0.0", "count": "0"}[definition.kind]


def _table_sheet(table: Table) -> Sheet:
    columns = [
        Column(label=str(label), number_format=_number_format(key), width=16)
        for key, label in table.columns
    ]

    def rows():
        for row in table.rows:
            values = []
            for key, _label in table.columns:
                value = row.get(key)
                if table.id == "kpis" and key == "value":
                    value = Formatted(value, _number_format(row["_key"]))
                values.append(value)
            yield values

    return Sheet(title=str(table.title), columns=columns, rows=rows(), freeze_header=True)


def _notes_sheet(cockpit: Cockpit) -> Sheet:
    f = cockpit.f
    lines = [[str(d.label), str(d.formula), str(d.meaning), str(d.source)] for d in DEFINITIONS]
    lines += [
        [],
        [_("区域"), f.region, cockpit.names().get(f.region, "")],
        [_("时间段"), f"{f.start.isoformat()} – {f.end.isoformat()}"],
        [_("问题类别"), f.category or _("全部")],
        [_("导出时间"), timezone.localtime().strftime("%Y-%m-%d %H:%M")],
        [_("说明"), _("驾驶舱、导出表格和数据接口中的各数值口径一致，见上。")],
    ]
    return Sheet(
        title=_("指标说明"),
        columns=[
            Column(label=_("指标"), width=14),
            Column(label=_("计算方法"), width=60),
            Column(label=_("含义"), width=50),
            Column(label=_("依据"), width=50),
        ],
        rows=lines,
        counted=False,
    )


def cockpit_export(*, actor: User, cockpit: Cockpit, request: HttpRequest | None = None) -> Export:
    """The current view as xlsx: one sheet per table, then the notes; audited with the scope
    and period that left the platform."""
    f = cockpit.f
    return export_write(
        actor=actor,
        kind=COCKPIT_EXPORT,
        sheets=[*(_table_sheet(t) for t in cockpit.tables()), _notes_sheet(cockpit)],
        filename=f"cockpit-{f.region}-{f.start:%Y%m%d}-{f.end:%Y%m%d}",
        title=_("驾驶舱数据导出"),
        region_code=f.region,
        object_type="analytics.cockpit",
        object_id=f.region,
        object_repr=f"{f.region} {f.start}–{f.end}",
        details={
            "from": f.start.isoformat(),
            "to": f.end.isoformat(),
            "category": f.category or "",
        },
        request=request,
    )
