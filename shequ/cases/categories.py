"""The category tree that ships with Shequ (production configuration, not demo data).

Ten 大类 and 40 小类 covering the 数字城管 event classes and community practice. Handling time
limits follow the reference deadlines (governance rules §2): 济源 (暴露垃圾 1 工作日, 道路不洁
5 工作时, 积存渣土 4 工作日, 违法搭建 15 工作日, 水域不洁 15 工作日), another city's (绿地养护
5 工作日, 私搭乱建 停工 4 工作时 / 处罚 7 工作日 / 拆除 20 工作日), 12345 practice (emergencies the
same day in natural hours, 咨询/求助 ≤ 3 工作日, 投诉/举报 ≤ 13 工作日; water/power/gas/heat
24 h, sudden 2 h). The rest are local choices in the same range; the admin can change any of
them. `sync_categories` is idempotent: it creates what is missing and never overwrites
changes made in the admin; data migrations call it with the historical models.
`resolve_category` turns a code from a form, the API or Open311 into an active leaf category
(report, the transitions, the pages and the API use it); `clean_attributes` validates a
category's extra attributes (Open311 shapes) for `case_report`.
"""

from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from shequ.cases.models import AttributeType, Category, CategoryAttribute

W_H, W_D, H = "work_hours", "work_days", "hours"

# Emergencies run on clock time for every step.
EMERGENCY_STEPS = {
    "register_limit": 1,
    "register_unit": H,
    "dispatch_limit": 1,
    "dispatch_unit": H,
    "verify_limit": 4,
    "verify_unit": H,
    "escalation_grace": 1,
    "escalation_grace_unit": H,
}
LONG_CASE_STEPS = {"escalation_grace": 1, "escalation_grace_unit": W_D}


def _values(*names: str) -> list[dict]:
    return [{"key": f"v{i}", "name": name} for i, name in enumerate(names, start=1)]


AMOUNT = {
    "code": "amount",
    "name": "数量/规模",
    "datatype": "singlevaluelist",
    "required": True,
    "values": _values("少量", "较多", "大量"),
}
TRAPPED = {
    "code": "trapped",
    "name": "是否有人被困",
    "datatype": "singlevaluelist",
    "required": True,
    "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}],
}
AREA = {
    "code": "area",
    "name": "面积（平方米）",
    "datatype": "number",
    "required": False,
}
HOUSEHOLDS = {"code": "households", "name": "涉及户数", "datatype": "number", "required": False}
STARTED = {
    "code": "started_at",
    "name": "开始时间",
    "datatype": "datetime",
    "required": False,
}
NOISE_TIMES = {
    "code": "times",
    "name": "发生时段",
    "datatype": "multivaluelist",
    "required": True,
    "values": _values("白天", "夜间（22:00 后）", "凌晨"),
}
UNIT_NO = {"code": "unit_no", "name": "楼栋单元", "datatype": "string", "required": False}
PLATE = {"code": "plate", "name": "车牌号", "datatype": "string", "required": False}
DETAIL = {"code": "detail", "name": "详细说明", "datatype": "text", "required": False}

# (code, name, keywords, [leaf: (code, name, handler, priority, photo, handle_limit, unit,
#   keywords, attributes, extra)])
# One line per 小类 reads as a table; the formatter would explode it.
# fmt: off
# (code, name, keywords, leaves); a leaf is (code, name, handler, priority, photo, limit, unit,
# keywords, attributes, extra steps).
CATEGORY_TREE: list[tuple[str, str, str, list[tuple[Any, ...]]]] = [
    (
        "01",
        "市容环境",
        "垃圾 卫生 环境",
        [
            ("0101", "暴露垃圾", "grid", "normal", True, 1, W_D, "垃圾 堆放 乱扔", [AMOUNT], {}),
            ("0102", "道路不洁", "grid", "normal", True, 5, W_H, "路面 脏 保洁", [], {}),
            ("0103", "积存渣土", "grid", "normal", True, 4, W_D, "渣土 建筑垃圾", [AMOUNT], {}),
            ("0104", "水域不洁", "community", "normal", True, 15, W_D, "河道 漂浮物 水面", [], LONG_CASE_STEPS),
            ("0105", "乱张贴小广告", "grid", "normal", True, 2, W_D, "小广告 牛皮癣 张贴", [], {}),
            ("0106", "占道经营", "grid", "normal", True, 4, W_H, "摊贩 占道 流动摊点", [], {}),
        ],
    ),
    (
        "02",
        "公用设施",
        "设施 损坏",
        [
            ("0201", "井盖缺损", "township", "emergency", True, 2, H, "井盖 窨井 下水道", [], EMERGENCY_STEPS),
            ("0202", "路灯不亮", "community", "normal", False, 3, W_D, "路灯 照明", [], {}),
            ("0203", "水电气暖故障", "township", "urgent", False, 24, H, "停水 停电 燃气 供暖", [], EMERGENCY_STEPS),
            ("0204", "健身器材损坏", "community", "normal", True, 5, W_D, "健身器材 座椅", [], {}),
        ],
    ),
    (
        "03",
        "道路交通",
        "道路 交通 停车",
        [
            ("0301", "道路破损", "township", "normal", True, 5, W_D, "坑洼 路面破损 塌陷", [AREA], {}),
            ("0302", "非机动车乱停放", "grid", "normal", True, 4, W_H, "共享单车 电动车 乱停", [], {}),
            ("0303", "僵尸车", "community", "normal", True, 7, W_D, "废弃车辆 长期停放", [PLATE], {}),
            ("0304", "交通设施损坏", "township", "urgent", True, 2, W_D, "红绿灯 标志 护栏", [], {}),
        ],
    ),
    (
        "04",
        "园林绿化",
        "绿化 树木 草坪",
        [
            ("0401", "绿地养护", "community", "normal", True, 5, W_D, "草坪 枯死 毁绿", [AREA], {}),
            ("0402", "树木倒伏", "grid", "emergency", True, 4, H, "大树 倒伏 断枝", [], EMERGENCY_STEPS),
            ("0403", "绿化带垃圾", "grid", "normal", True, 1, W_D, "绿化带 垃圾", [], {}),
        ],
    ),
    (
        "05",
        "违法建设",
        "违建 搭建",
        [
            ("0501", "私搭乱建（停工）", "community", "urgent", True, 4, W_H, "违建 在建 搭建", [AREA], {}),
            ("0502", "私搭乱建（处罚）", "township", "normal", True, 7, W_D, "违建 处罚", [AREA], LONG_CASE_STEPS),
            ("0503", "违法建筑拆除", "township", "normal", True, 20, W_D, "违建 拆除", [AREA], LONG_CASE_STEPS),
        ],
    ),
    (
        "06",
        "物业服务",
        "物业 小区",
        [
            ("0601", "电梯故障", "property", "urgent", False, 24, H, "电梯 困人 停运", [TRAPPED, UNIT_NO], {"escalation_grace": 2, "escalation_grace_unit": H}),
            ("0602", "楼道堆物", "property", "normal", True, 3, W_D, "楼道 杂物 堆放", [UNIT_NO], {}),
            ("0603", "物业服务投诉", "property", "normal", False, 13, W_D, "物业 投诉 服务态度", [DETAIL], LONG_CASE_STEPS),
            ("0604", "小区环境卫生", "property", "normal", True, 2, W_D, "小区 卫生 垃圾房", [], {}),
            ("0605", "小区停车管理", "property", "normal", False, 5, W_D, "停车 车位 占用", [], {}),
        ],
    ),
    (
        "07",
        "矛盾纠纷",
        "纠纷 调解",
        [
            ("0701", "邻里纠纷", "community", "normal", False, 13, W_D, "邻居 纠纷 调解", [STARTED, HOUSEHOLDS], LONG_CASE_STEPS),
            ("0702", "家庭纠纷", "community", "normal", False, 13, W_D, "家庭 赡养 婚姻", [STARTED], LONG_CASE_STEPS),
            ("0703", "物业纠纷", "community", "normal", False, 13, W_D, "业主 物业 纠纷", [HOUSEHOLDS], LONG_CASE_STEPS),
            ("0704", "劳资纠纷", "township", "normal", False, 13, W_D, "欠薪 工资 劳动", [HOUSEHOLDS], LONG_CASE_STEPS),
        ],
    ),
    (
        "08",
        "安全隐患",
        "安全 隐患 消防",
        [
            ("0801", "消防通道堵塞", "grid", "urgent", True, 4, W_H, "消防通道 堵塞 占用", [], {}),
            ("0802", "燃气隐患", "grid", "emergency", False, 2, H, "燃气 煤气 泄漏 异味", [], EMERGENCY_STEPS),
            ("0803", "电动车楼道充电", "grid", "urgent", True, 4, W_H, "电动车 飞线 充电", [UNIT_NO], {}),
            ("0804", "房屋安全隐患", "community", "urgent", True, 1, W_D, "危房 裂缝 脱落", [], {}),
        ],
    ),
    (
        "09",
        "民生诉求",
        "民生 困难 帮扶",
        [
            ("0901", "救助帮扶", "community", "normal", False, 3, W_D, "低保 救助 困难", [DETAIL], {}),
            ("0902", "养老服务", "community", "normal", False, 3, W_D, "老人 养老 助餐", [], {}),
            ("0903", "就业帮扶", "community", "normal", False, 5, W_D, "就业 培训 失业", [], {}),
            ("0904", "噪音扰民", "grid", "normal", False, 3, W_D, "噪音 扰民 施工", [NOISE_TIMES], {}),
        ],
    ),
    (
        "10",
        "咨询建议",
        "咨询 建议",
        [
            ("1001", "政策咨询", "community", "normal", False, 1, W_D, "政策 咨询 办事", [], {}),
            ("1002", "意见建议", "community", "normal", False, 13, W_D, "建议 意见", [DETAIL], LONG_CASE_STEPS),
            ("1003", "表扬感谢", "community", "normal", False, 3, W_D, "表扬 感谢", [], {}),
        ],
    ),
]
# fmt: on

# Cases that need the community to look first (disputes, consultations…) are not dispatched
# automatically; everything with a clear owner on the ground is.
MANUAL_GROUPS = {"07", "09", "10"}


def ladder_for(handler: str) -> str:
    full = ["grid", "community", "township", "city"]
    if handler == "property":
        return "property,community,township,city"
    return ",".join(full[full.index(handler) :]) if handler in full else "city"


def leaf_count() -> int:
    return sum(len(leaves) for _code, _name, _kw, leaves in CATEGORY_TREE)


def sync_categories(Category, CategoryAttribute) -> int:
    """Create the missing categories and attributes; returns how many categories were created."""
    created = 0
    for order, (code, name, keywords, leaves) in enumerate(CATEGORY_TREE, start=1):
        group, made = Category.objects.get_or_create(
            code=code,
            defaults={"name": name, "keywords": keywords, "order": order, "auto_dispatch": False},
        )
        created += made
        for leaf_order, leaf in enumerate(leaves, start=1):
            (
                leaf_code,
                leaf_name,
                handler,
                priority,
                photo,
                limit,
                unit,
                leaf_keywords,
                attributes,
                extra,
            ) = leaf
            defaults = {
                "name": leaf_name,
                "parent": group,
                "keywords": leaf_keywords,
                "order": leaf_order,
                "handler_type": handler,
                "priority": priority,
                "photo_required": photo,
                "handle_limit": limit,
                "handle_unit": unit,
                "auto_dispatch": code not in MANUAL_GROUPS,
                "escalation_ladder": ladder_for(handler),
                **extra,
            }
            category, made = Category.objects.get_or_create(code=leaf_code, defaults=defaults)
            created += made
            if not made:
                continue
            for attr_order, attribute in enumerate(attributes, start=1):
                CategoryAttribute.objects.get_or_create(
                    category=category,
                    code=attribute["code"],
                    defaults={
                        "name": attribute["name"],
                        "datatype": attribute["datatype"],
                        "required": attribute["required"],
                        "values": attribute.get("values", []),
                        "order": attr_order,
                    },
                )
    return created


def ensure_categories() -> int:
    """Seed the categories with the current models (tests, after a database flush)."""
    return sync_categories(Category, CategoryAttribute)


def resolve_category(value) -> Category | None:
    """The active leaf category (小类) a code names, or None; a Category passes through."""
    if isinstance(value, Category):
        return value
    if value in (None, ""):
        return None
    return (
        Category.objects.select_related("parent")
        .filter(code=str(value).strip(), is_active=True, parent__isnull=False)
        .first()
    )


def clean_attributes(category: Category, values) -> tuple[dict, list[dict]]:
    """Validate extra attributes (Open311 shapes) → (clean values, field errors)."""
    values = values or {}
    errors: list[dict] = []
    if not isinstance(values, dict):
        return {}, [{"field": "attributes", "message": _("附加信息应为键值对象。")}]
    definitions = {a.code: a for a in category.attributes.all()}
    clean: dict = {}
    for code in values:
        if code not in definitions:
            errors.append(
                {
                    "field": f"attributes.{code}",
                    "message": _("该类别没有附加字段 %(code)s。") % {"code": code},
                }
            )
    for code, attribute in definitions.items():
        raw = values.get(code)
        empty = raw is None or raw == "" or raw == []
        field = f"attributes.{code}"
        if empty:
            if attribute.required:
                errors.append(
                    {
                        "field": field,
                        "message": _("请填写「%(name)s」。") % {"name": attribute.name},
                    }
                )
            continue
        try:
            clean[code] = _clean_value(attribute, raw)
        except ValueError as exc:
            errors.append({"field": field, "message": str(exc)})
    return clean, errors


def _clean_value(attribute, raw):
    name = attribute.name
    kind = attribute.datatype
    if kind == AttributeType.NUMBER:
        try:
            number = float(str(raw).strip())
        except ValueError:
            raise ValueError(_("「%(name)s」应为数字。") % {"name": name}) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(_("「%(name)s」应为数字。") % {"name": name})
        return int(number) if number.is_integer() else number
    if kind == AttributeType.DATETIME:
        parsed = parse_datetime(str(raw).strip()) if isinstance(raw, str) else None
        if parsed is None:
            raise ValueError(
                _("「%(name)s」应为日期时间（如 2026-05-01T09:30+08:00）。") % {"name": name}
            )
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed.isoformat()
    if kind == AttributeType.SINGLE:
        if isinstance(raw, list) or str(raw) not in attribute.value_keys:
            raise ValueError(_("「%(name)s」的取值无效。") % {"name": name})
        return str(raw)
    if kind == AttributeType.MULTI:
        items = raw if isinstance(raw, list) else [raw]
        items = [str(item) for item in items]
        if not items or any(item not in attribute.value_keys for item in items):
            raise ValueError(_("「%(name)s」的取值无效。") % {"name": name})
        return sorted(set(items), key=items.index)
    limit = 200 if kind == AttributeType.STRING else 4000
    text = str(raw).strip()
    if len(text) > limit:
        raise ValueError(_("「%(name)s」不能超过 %(n)d 字。") % {"name": name, "n": limit})
    return text
