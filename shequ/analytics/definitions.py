"""The cockpit's indicators: label, formula and source of each (the "指标说明" page, the xlsx
notes sheet and the API's validation all read this table). The numbers themselves come from one
place only, the closed-loop selector `shequ.cases.indicators.indicators`.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Definition:
    key: str  # the field of shequ.cases.indicators.Indicators
    label: Promise
    formula: Promise
    source: Promise
    kind: str  # "count", "rate" or "hours"
    higher_is_better: bool = True


DEFINITIONS: list[Definition] = [
    Definition(
        "reports",
        _("上报数"),
        _("期间内上报的案件数（各渠道，含重复、作废）"),
        _("案件上报时间（reported_at）"),
        "count",
    ),
    Definition(
        "registered",
        _("立案数"),
        _("期间内立案的案件数，不含后来合并为重复或作废的案件；以下各率均以此为队列"),
        _("案件立案时间（registered_at）"),
        "count",
    ),
    Definition(
        "registration_rate",
        _("立案率"),
        _("立案数 ÷ 有效上报数（有效上报数 = 上报数 − 合并 − 作废）"),
        _("实践中无统一分母，本平台按此口径并在此说明（治理规则 §3）"),
        "rate",
    ),
    Definition(
        "closure_rate",
        _("结案率"),
        _("结案数 ÷ 应结案数；应结案数 = 结案数 + 超期未结数"),
        _("CJ/T 292 数字化城市管理考核；超期未结计入分母（Austin 口径）"),
        "rate",
    ),
    Definition(
        "on_time_rate",
        _("按期结案率"),
        _("按期结案数 ÷ 应结案数；最后一次处置反馈不晚于（延期后的）处置期限为按期"),
        _("CJ/T 292；天门示例 737/972 = 75.82%；超期未结按不按期计"),
        "rate",
    ),
    Definition(
        "rework_rate",
        _("返工率"),
        _("返工数 ÷ 应结案数；返工数 = 至少被返工或重办一次的案件数"),
        _("治理规则 §3（成都金牛考核口径）"),
        "rate",
        higher_is_better=False,
    ),
    Definition(
        "satisfaction_rate",
        _("满意率"),
        _("（满意 + 0.9 × 基本满意）÷ 有效回访数"),
        _("12345 三率的公开实现口径（非官方公式）；评价或回访成功的已结案件"),
        "rate",
    ),
    Definition(
        "rated_share",
        _("评价回访率"),
        _("有效回访数 ÷ 结案数；有效回访数 = 居民已评价或电话回访成功的已结案件"),
        _("案件满意度（居民评价或回访登记）；每个已结案件只计一次"),
        "rate",
    ),
    Definition(
        "avg_handling_hours",
        _("平均处置时长"),
        _("已结案件从派遣到最后一次处置反馈的工作时长的平均值（小时，按工作日历）"),
        _("案件处置用时（handling_seconds，工作秒）"),
        "hours",
        higher_is_better=False,
    ),
    Definition(
        "overdue_open",
        _("超期未结数"),
        _("队列中仍在待接单或处置中、已超过处置期限的案件数"),
        _("案件状态与处置期限（due_at）"),
        "count",
        higher_is_better=False,
    ),
    Definition(
        "extension_rate",
        _("延期率"),
        _("延期数 ÷ 应处置数（至少一次延期获批的案件）"),
        _("成都金牛考核口径（治理规则 §3）"),
        "rate",
        higher_is_better=False,
    ),
]
BY_KEY = {d.key: d for d in DEFINITIONS}
# The eight KPI cards of the cockpit (issue 7), in order.
KPI_KEYS = (
    "reports",
    "registered",
    "closure_rate",
    "on_time_rate",
    "rework_rate",
    "satisfaction_rate",
    "avg_handling_hours",
    "overdue_open",
)
MAP_INDICATORS = tuple(d.key for d in DEFINITIONS)


def display(key: str, value) -> str:
    """A value as the page shows it: rates in %, hours with one decimal, "—" for no data."""
    if value is None:
        return "—"
    kind = BY_KEY[key].kind if key in BY_KEY else "count"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "hours":
        return f"{value:.1f}"
    return str(value)
