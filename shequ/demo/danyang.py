"""Facts about Danyang used by the demo data (see the project's reference notes).

Township codes, kinds and approximate seats are real (NBS 2022); boundaries are not public, so
every polygon is synthetic. Community and village names are real where known and synthetic
otherwise; synthetic records are flagged `is_synthetic` and labelled 示例数据 in the UI.
"""

from typing import Any

CITY_CODE = "321181"
CITY_NAME = "丹阳市"
CITY_CENTRE = (31.99167, 119.58500)  # (lat, lng)

# A rough, synthetic outline inside the city's known extent (lng 119.40–119.90, lat 31.72–32.14).
OUTLINE = [
    (119.420, 31.980),
    (119.430, 32.060),
    (119.500, 32.110),
    (119.580, 32.140),
    (119.680, 32.140),
    (119.780, 32.140),
    (119.860, 32.100),
    (119.880, 32.000),
    (119.840, 31.900),
    (119.780, 31.800),
    (119.700, 31.740),
    (119.580, 31.730),
    (119.470, 31.760),
    (119.420, 31.860),
    (119.420, 31.980),
]

# code, name, kind ("subdistrict" | "town"), seat (lat, lng), known communities, known villages.
# Known units are (name, code or None); None means the code is assigned by the generator.
TOWNSHIPS = [
    ("321181001", "云阳街道", "subdistrict", (32.01, 119.58), [], []),
    ("321181002", "曲阿街道", "subdistrict", (31.98, 119.56), [], []),
    (
        "321181100",
        "司徒镇",
        "town",
        (32.07, 119.47),
        [("新河路社区", None), ("光明路社区", None), ("东风路社区", None)],
        [
            ("杏虎村", None),
            ("吴塘村", None),
            ("谭巷村", None),
            ("固村村", None),
            ("杏村村", None),
            ("东风村", None),
            ("薛甲村", None),
            ("张寺村", None),
            ("屯甸村", None),
            ("丁庄村", None),
            ("培棠村", None),
        ],
    ),
    (
        "321181101",
        "延陵镇",
        "town",
        (31.83, 119.47),
        [
            ("永昌街社区", "321181101001"),
            ("麦中路社区", "321181101002"),
            ("芳草园社区", "321181101003"),
            ("昌延社区", "321181101004"),
            ("滨河社区", None),
        ],
        [
            ("东皇村", "321181101200"),
            ("行宫村", "321181101201"),
            ("九里村", "321181101202"),
            ("延陵村", None),
            ("大吕村", None),
            ("联兴村", None),
            ("利民村", None),
            ("麦溪村", None),
            ("松卜村", None),
            ("柳茹村", None),
            ("赵巷村", None),
        ],
    ),
    ("321181102", "珥陵镇", "town", (31.88, 119.55), [], []),
    ("321181103", "导墅镇", "town", (31.85, 119.63), [], []),
    ("321181104", "皇塘镇", "town", (31.79, 119.69), [], []),
    ("321181105", "吕城镇", "town", (31.93, 119.78), [], []),
    ("321181106", "陵口镇", "town", (31.96, 119.68), [], []),
    (
        "321181107",
        "访仙镇",
        "town",
        (32.04, 119.70),
        [("永兴路社区", None), ("访仙桥社区", None)],
        [("杨城村", None), ("池塘村", None), ("窦庄村", None), ("萧家村", None)],
    ),
    (
        "321181108",
        "界牌镇",
        "town",
        (32.12, 119.77),
        [
            ("界东社区", None),
            ("界南社区", None),
            ("界西社区", None),
            ("界北社区", None),
            ("泰苑社区", None),
            ("衡苑社区", None),
        ],
        [],
    ),
    (
        "321181113",
        "丹北镇",
        "town",
        (32.12, 119.62),
        [("新桥社区", None), ("中心社区", None), ("镇中路社区", None)],
        [
            ("姚家弄村", None),
            ("金桥村", None),
            ("长春村", None),
            ("埤城村", None),
            ("宝山村", None),
            ("新巷村", None),
            ("滨江村", None),
            ("东方村", None),
            ("前巷村", None),
            ("飞达村", None),
            ("新弄村", None),
            ("管山村", None),
            ("高桥村", None),
            ("丰裕村", None),
        ],
    ),
]

# Functional zones point at township units (not a fourth level).
FUNCTIONAL_ZONES = [
    ("丹阳高新技术产业开发区", ["321181001"]),
    ("丹阳经济开发区", ["321181002"]),
]

# The flagship community of the thesis (synthetic name) in 云阳街道.
FLAGSHIP_CODE = "321181001001"
FLAGSHIP_NAME = "丹凤社区"

# Units per township at each scale: (communities, villages). Real names are used first.
UNITS_PER_TOWNSHIP = {
    "small": {"321181001": (6, 2), "321181002": (4, 2), "default": (2, 3)},
    "city": {"321181001": (19, 16), "321181002": (15, 22), "default": (4, 12)},
}
UNITS_PER_TOWNSHIP["medium"] = UNITS_PER_TOWNSHIP["city"]
# Grids per unit: urban communities have more than villages.
# Per scale: (low, high) grids per community or village; the flagship community's count.
GRIDS_PER_UNIT: dict[str, dict[str, Any]] = {
    "small": {"community": (5, 7), "village": (3, 5), "flagship": 6},
    "city": {"community": (5, 8), "village": (2, 4), "flagship": 8},
}
GRIDS_PER_UNIT["medium"] = GRIDS_PER_UNIT["city"]
# Target dwellings per grid (± 30 %).
HOUSES_PER_GRID = {
    "small": {"community": 110, "village": 40},
    "medium": {"community": 60, "village": 35},
    "city": {"community": 520, "village": 300},
}

SYNTHETIC_COMMUNITY_WORDS = [
    "凤凰",
    "丹桂",
    "锦绣",
    "迎春",
    "新民",
    "华南",
    "百花",
    "阳光",
    "丽景",
    "荆林",
    "金陵",
    "开元",
    "南门",
    "北门",
    "东门",
    "西门",
    "大桥",
    "运河",
    "齐梁",
    "练湖",
    "香草",
    "月湖",
    "兰陵",
    "云林",
    "凤美",
    "丹凤",
    "玉泉",
    "晨光",
    "尚书",
    "吕城",
    "御河",
    "后巷",
    "新城",
    "滨湖",
    "翠竹",
    "春晖",
    "和平",
    "建设",
    "人民",
    "文化",
    "学府",
    "体育",
    "银杏",
    "宝塔",
    "九曲",
    "白鹤",
    "紫荆",
    "长乐",
]
SYNTHETIC_COMMUNITY_SUFFIXES = ["路", "街", "苑", "园", "桥", "湖", "东", "西", "南", "北"]
VILLAGE_SUFFIXES = ["庄", "巷", "塘", "桥", "圩", "墅", "湾", "埠", "店", "岗"]
ESTATE_SUFFIXES = ["花园", "新村", "小区", "苑", "家园", "公寓", "名邸", "雅居"]
ESTATE_WORDS = [
    "金桂",
    "锦城",
    "名都",
    "丽都",
    "华府",
    "天禧",
    "凤凰城",
    "春江",
    "御景",
    "水岸",
    "嘉园",
    "和园",
    "龙湾",
    "悦澜",
    "景秀",
    "东方",
    "尚城",
    "兰亭",
    "翡翠",
    "香榭",
    "怡景",
    "君悦",
    "香山",
    "梧桐",
]
PROPERTY_COMPANIES = [
    "丹阳市安居物业服务有限公司",
    "丹阳市和悦物业服务有限公司",
    "丹阳市康宁物业管理有限公司",
    "丹阳市鑫城物业服务有限公司",
    "丹阳市瑞丰物业管理有限公司",
    "丹阳市佳园物业服务有限公司",
    "丹阳市德润物业服务有限公司",
    "丹阳市泰和物业管理有限公司",
]
