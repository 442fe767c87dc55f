"""What the simulated city's reports look like — volumes per scale, category and season weights,
channels, hours, the words residents use — and the small records the simulation passes around."""

from dataclasses import dataclass, field

CASES = {"small": 2850, "medium": 500_000, "city": 5_000_000}
RECENT_BURST = 150  # small scale: reports of the last ten days in the flagship community
YEARS = {"small": 1, "medium": 5, "city": 5}

GROUP_WEIGHT = {
    "01": 30, "02": 10, "03": 12, "04": 7, "05": 4,
    "06": 12, "07": 5, "08": 8, "09": 7, "10": 5,
}  # fmt: skip
LEAF_BOOST = {"0101": 3.0, "0302": 2.5, "0904": 2.0, "0602": 2.0, "0105": 1.5, "0803": 1.5}
SUMMER = [0.7, 0.7, 0.9, 1.0, 1.2, 1.4, 1.5, 1.5, 1.2, 1.0, 0.8, 0.7]
WINTER = [1.8, 1.6, 1.1, 0.8, 0.7, 0.7, 0.8, 0.8, 0.8, 1.0, 1.4, 1.8]
SPRING_FESTIVAL = [1.4, 1.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2]
SEASON = {"04": SUMMER, "0904": SUMMER, "0101": SUMMER, "0203": WINTER, "09": SPRING_FESTIVAL}
CHANNELS = (
    ("resident", 40), ("patrol", 35), ("hotline", 14), ("phone", 5), ("walk_in", 3), ("api", 3),
)  # fmt: skip
RESIDENT_HOURS = [0.1, 0.05, 0.02, 0.02, 0.05, 0.2, 0.6, 1.2, 1.6, 1.5, 1.3, 1.0,
                  0.9, 1.0, 1.2, 1.2, 1.1, 1.0, 1.1, 1.3, 1.2, 0.8, 0.4, 0.2]  # fmt: skip
PLACES = ("小区门口", "楼下", "路口", "菜场旁", "公交站附近", "河边", "学校门口", "绿化带旁",
          "停车场", "单元楼道", "广场", "巷子里")  # fmt: skip
DETAILS = {
    "01": ("已经好几天了，气味很大", "影响通行，请尽快处理", "天热了蚊蝇很多"),
    "02": ("晚上很不安全", "老人孩子容易摔倒", "希望尽快修好"),
    "03": ("车辆经过很危险", "早晚高峰很堵", "电动车进出不方便"),
    "04": ("枝叶挡住了路", "草都枯了", "下雨后更严重"),
    "05": ("正在施工，噪音很大", "占用了公共空间", "邻居都有意见"),
    "06": ("物业一直没有处理", "已经打过物业电话", "影响全楼住户"),
    "07": ("双方多次争吵", "希望社区出面调解", "已经持续一个多月"),
    "08": ("存在安全隐患", "担心发生火灾", "请尽快排查"),
    "09": ("家里老人行动不便", "想了解怎么申请", "生活比较困难"),
    "10": ("想咨询一下相关政策", "提个建议", "感谢网格员的帮助"),
}


@dataclass
class Actors:
    grid_workers: dict[str, tuple[int, str]]
    community_staff: dict[str, tuple[int, str]]
    township_officers: dict[str, tuple[int, str]]
    property_staff: dict[int | None, tuple[int, str]]
    resident: tuple[int, str] | None
    resident_grid: str


@dataclass
class Place:
    grid: str
    buildings: list[tuple[int, float, float, int | None, str]]  # id, lat, lng, company, address
    weight: float


@dataclass
class SimCase:
    fields: dict
    events: list[dict] = field(default_factory=list)
    ratings: list[dict] = field(default_factory=list)
