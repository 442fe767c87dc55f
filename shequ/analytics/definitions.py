"""The cockpit's indicators: label, formula and source of each (the "指标说明" page, the xlsx
notes sheet and the API's validation all read this table). The numbers themselves come from one
place only, the closed-loop selector `shequ.cases.indicators.indicators`.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Definition:
    """One indicator as leaders read it on 指标说明: what is counted (formula), what it tells
    them (meaning) and which document the rule comes from (source, by name)."""

    key: str  # the field of shequ.cases.indicators.Indicators
    label: Promise
    formula: Promise
    meaning: Promise
    source: Promise
    kind: str  # "count", "rate" or "hours"
    higher_is_better: bool = True


CJT_292 = _(
    "数字城管行业标准《城市市政综合监管信息系统 监管案件立案、处置与结案》（CJ/T 292，"
    "现由 GB/T 30428 系列国家标准替代）"
)
JINNIU = _("成都市金牛区网格化服务管理考核办法中的口径")
PLATFORM_RULE = _("本平台指标口径（各地无统一规定，以本页为准）")
CASE_LEDGER = _("本平台案件台账：居民、网格员、12345 热线等各渠道的上报记录")

DEFINITIONS: list[Definition] = [
    Definition(
        key="reports",
        label=_("上报数"),
        formula=_("期间内各渠道上报的问题件数，含后来判定为重复或作废的"),
        meaning=_("群众和网格员反映问题的总量，反映发现问题的活跃程度。"),
        source=CASE_LEDGER,
        kind="count",
    ),
    Definition(
        key="registered",
        label=_("立案数"),
        formula=_("期间内立案的件数，不含后来合并为重复或作废的；以下各比率都以这些案件为统计对象"),
        meaning=_("确需处置的问题数量，是考核处置工作的基数。"),
        source=CASE_LEDGER,
        kind="count",
    ),
    Definition(
        key="registration_rate",
        label=_("立案率"),
        formula=_("立案数 ÷ 有效上报数；有效上报数 = 上报数 − 重复件 − 作废件"),
        meaning=_("有效反映中被受理立案的比例；偏低说明有问题未被及时受理。"),
        source=PLATFORM_RULE,
        kind="rate",
    ),
    Definition(
        key="closure_rate",
        label=_("结案率"),
        formula=_("结案数 ÷ 应结案数；应结案数 = 结案数 + 已超期仍未办结数"),
        meaning=_("该办结的问题中实际办结的比例；超期未办结的也计入分母，不会因拖延而虚高。"),
        source=CJT_292,
        kind="rate",
    ),
    Definition(
        key="on_time_rate",
        label=_("按期结案率"),
        formula=_("按期结案数 ÷ 应结案数；在（经批准延期后的）处置期限内完成处置的为按期"),
        meaning=_(
            "办得及时不及时。例：应结案 972 件、按期结案 737 件，按期结案率为 75.82%。"
            "已超期仍未办结的按不按期计。"
        ),
        source=CJT_292,
        kind="rate",
    ),
    Definition(
        key="rework_rate",
        label=_("返工率"),
        formula=_("返工数 ÷ 应结案数；返工数 = 至少被退回重办一次的案件数"),
        meaning=_("办得扎实不扎实；越低越好。"),
        source=JINNIU,
        kind="rate",
        higher_is_better=False,
    ),
    Definition(
        key="satisfaction_rate",
        label=_("满意率"),
        formula=_("（满意件数 + 0.9 × 基本满意件数）÷ 有效回访件数"),
        meaning=_("群众对办理结果的评价；只统计已结案并成功回访或评价的案件。"),
        source=_("12345 政务服务便民热线“三率”考核的公开计算方法（非官方公式）"),
        kind="rate",
    ),
    Definition(
        key="rated_share",
        label=_("评价回访率"),
        formula=_("有效回访数 ÷ 结案数；有效回访数 = 居民已评价或电话回访成功的已结案件"),
        meaning=_(
            "办结的问题中有多少听到了居民的评价；偏低说明回访没有做到位，满意率也就缺少依据。"
        ),
        source=PLATFORM_RULE,
        kind="rate",
    ),
    Definition(
        key="avg_handling_hours",
        label=_("平均处置时长"),
        formula=_(
            "已结案件从派遣到最后一次处置反馈所用工作时间的平均值（小时；节假日不计，调休上班日计入）"
        ),
        meaning=_("问题从交办到处置完成平均要多久；越短越好。"),
        source=CJT_292,
        kind="hours",
        higher_is_better=False,
    ),
    Definition(
        key="overdue_open",
        label=_("超期未结数"),
        formula=_("仍在待接单或处置中、已超过处置期限的案件数"),
        meaning=_("当前积压、需要督办的问题数量；越少越好。"),
        source=CJT_292,
        kind="count",
        higher_is_better=False,
    ),
    Definition(
        key="extension_rate",
        label=_("延期率"),
        formula=_("延期数 ÷ 应处置数；延期数 = 至少一次延期申请获批的案件数"),
        meaning=_("需要延长期限才能办完的比例；偏高说明期限设置或处置力量需要调整。"),
        source=JINNIU,
        kind="rate",
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
