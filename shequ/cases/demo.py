"""Demo cases: a year of the closed loop at small scale (≈ 3,000 cases), five years at city
scale (5,000,000 cases through a bulk path: PostgreSQL COPY).

Each case is simulated through the same steps the services take — report, 立案, 派遣 (due by the
category's limit on the working calendar), 接单, 延期, 处理反馈, 返工, 核查结案, 评价/回访, 重办 —
then cut at "now", so open cases sit in every status, some yellow, some overdue and escalated.
Patterns: more reports on weekdays and in working hours (patrols only then), summer brings more
greenery, litter and noise, winter more heating/water faults, the weeks before the Spring
Festival more 民生 requests; about 8 % of handlings run late, 6 % are extended, 4 % reworked.

"Now" is the start of today (local time), so seeding is deterministic within a day. The city
path writes abbreviated timelines (the report and the latest transition per case) to keep the
database at a manageable size; the small path writes every step.
"""

import bisect
import collections
import datetime as dt
import io
import itertools
import math
import time
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone

from shequ.cases.models import (
    CONTACT_PHONE_CONTEXT,
    Case,
    CaseEvent,
    CaseFollow,
    CasePhoto,
    CaseRating,
    Category,
)
from shequ.cases.workflow import (
    STEP_OF_STATUS,
    UNIT_CODE_LENGTH,
    HandlerType,
    LimitUnit,
    PhotoKind,
    SlaLevel,
    Status,
)
from shequ.core.calendar import get_calendar
from shequ.demo.names import person_name
from shequ.demo.seeding import SeedContext, peak_rss_mb

SEED_ORDER = 40
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
    property_staff: dict[int, tuple[int, str]]
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


class Simulator:
    """Simulates cases through the closed loop with the real calendar and category limits."""

    def __init__(self, ctx: SeedContext, *, now: dt.datetime, start: dt.datetime, n: int):
        self.rng = ctx.rng("cases")
        self.scale = ctx.scale
        self.now = now  # naive local
        self.start = start
        self.n = n
        self.tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        self.cal = get_calendar()
        leaves = list(
            Category.objects.filter(parent__isnull=False, is_active=True)
            .select_related("parent")
            .prefetch_related("attributes")
            .order_by("code")
        )
        self.leaves = leaves
        self._month_weights = {}
        for month in range(1, 13):
            weights = []
            for leaf in leaves:
                group = leaf.parent.code
                weight = GROUP_WEIGHT.get(group, 5) / sum(
                    1 for c in leaves if c.parent_id == leaf.parent_id
                )
                weight *= LEAF_BOOST.get(leaf.code, 1.0)
                season = SEASON.get(leaf.code) or SEASON.get(group)
                if season:
                    weight *= season[month - 1]
                weights.append(weight)
            self._month_weights[month] = list(itertools.accumulate(weights))
        days = (now.date() - start.date()).days
        self.days = [start.date() + dt.timedelta(days=i) for i in range(days)]
        day_weights = []
        for day in self.days:
            weight = 1.0 if day.weekday() < 5 else 0.75
            weight *= 0.85 + 0.3 * math.sin((day.timetuple().tm_yday / 365.0) * 2 * math.pi - 1.2)
            growth = (day - self.days[0]).days / max(1, days)  # reporting grows as adoption does
            day_weights.append(weight * (0.8 + 0.4 * growth))
        self._day_cumulative = list(itertools.accumulate(day_weights))
        self._hour_cumulative = list(itertools.accumulate(RESIDENT_HOURS))
        self._channel_cumulative = list(itertools.accumulate(w for _c, w in CHANNELS))
        self.places = self._places()
        self._place_cumulative = list(itertools.accumulate(p.weight for p in self.places))
        self.actors = self._actors()
        self._day_seq: dict[dt.date, int] = {}
        self._order_seq: dict[dt.date, int] = {}
        self._open_by_key: dict[tuple[str, int], tuple[int, dt.datetime]] = {}
        self.daily = self.cal.daily_seconds

    # --- setup ----------------------------------------------------------------------------

    def _places(self) -> list[Place]:
        from shequ.demo import danyang
        from shequ.geo.models import Building, Region

        grids = dict(Region.objects.filter(level="grid").values_list("code", "urban_rural_class"))
        by_grid: dict[str, list] = {code: [] for code in grids}
        rows = Building.objects.values_list(
            "region_code", "id", "lat", "lng", "estate__property_company_id", "address"
        ).order_by("region_code", "id")
        for code, pk, lat, lng, company, address in rows.iterator(chunk_size=10000):
            bucket = by_grid.get(code)
            if bucket is not None and len(bucket) < 60:
                bucket.append((pk, lat, lng, company, address))
        places = []
        for code in sorted(by_grid):
            if not by_grid[code]:
                continue
            urban = grids[code] in ("111", "121")
            weight = 1.6 if urban else 1.0
            if self.scale == "small" and code.startswith(danyang.FLAGSHIP_CODE):
                weight *= 6 if code in (self._flagship_grids()[:2]) else 3
            places.append(Place(code, by_grid[code], weight))
        return places

    def _flagship_grids(self) -> list[str]:
        from shequ.demo import danyang
        from shequ.geo.models import Region

        if not hasattr(self, "_flagship"):
            self._flagship = sorted(
                Region.objects.filter(
                    level="grid", code__startswith=danyang.FLAGSHIP_CODE
                ).values_list("code", flat=True)
            )
        return self._flagship

    def _actors(self) -> Actors:
        from shequ.accounts.models import Assignment

        grid_workers, community, township, company = {}, {}, {}, {}
        resident = None
        resident_grid = ""
        for role, code, company_id, user_id, full_name, username in (
            Assignment.objects.filter(is_active=True)
            .values_list(
                "role",
                "region__code",
                "property_company_id",
                "user_id",
                "user__full_name",
                "user__username",
            )
            .order_by("user_id")
        ):
            name = full_name or username
            if role == "grid_worker":
                grid_workers.setdefault(code, (user_id, name))
            elif role == "community_staff":
                if username == "community" or code not in community:
                    community[code] = (user_id, name)
            elif role == "township_officer":
                township.setdefault(code, (user_id, name))
            elif role == "property_staff":
                company.setdefault(company_id, (user_id, name))
            elif role == "resident" and username == "resident":
                resident, resident_grid = (user_id, name), code
        return Actors(grid_workers, community, township, company, resident, resident_grid)

    # --- sampling ---------------------------------------------------------------------------

    def _pick(self, cumulative: list[float]) -> int:
        return bisect.bisect_right(cumulative, self.rng.random() * cumulative[-1])

    def _after(self, moment: dt.datetime, amount: float, unit: str) -> dt.datetime:
        """`amount` units after a naive local moment (working time or clock time)."""
        if unit == LimitUnit.HOURS:
            return moment + dt.timedelta(hours=amount)
        seconds = amount * (3600 if unit == LimitUnit.WORK_HOURS else self.daily)
        return self.cal.moment_naive(self.cal.position(moment) + int(seconds))

    def _fraction_of(self, moment, limit, unit, fraction) -> dt.datetime:
        return self._after(moment, max(limit * fraction, 0.02), unit)

    def _work_order(self, day: dt.date) -> str:
        """A 12345 work-order number, unique per day like the hotline's own."""
        seq = self._order_seq.get(day, 0) + 1
        self._order_seq[day] = seq
        return f"12345-{day:%Y%m%d}-{seq:05d}"

    def _code(self, day: dt.date) -> str:
        seq = self._day_seq.get(day, 0) + 1
        self._day_seq[day] = seq
        return f"{day:%y%m%d}D{seq:05d}"

    def _actor(self, kind: str, grid: str, company: int | None = None):
        """(user id or None, display name, role) of a party acting on a case in `grid`."""
        a = self.actors
        if kind == "grid":
            found = a.grid_workers.get(grid)
            return (*found, "grid_worker") if found else (None, "网格员", "grid_worker")
        if kind == "community":
            found = a.community_staff.get(grid[:12])
            return (
                (*found, "community_staff") if found else (None, "社区工作人员", "community_staff")
            )
        if kind == "township":
            found = a.township_officers.get(grid[:9])
            return (
                (*found, "township_officer")
                if found
                else (None, "镇街工作人员", "township_officer")
            )
        if kind == "property":
            found = a.property_staff.get(company)
            return (*found, "property_staff") if found else (None, "物业人员", "property_staff")
        return None, "系统", "system"

    # --- one case ---------------------------------------------------------------------------

    def cases(self):
        """Yield SimCase objects in time order of their report, one day at a time (memory stays
        flat at any scale). At small scale a burst of recent reports in the flagship community
        gives the demo accounts a live workload."""
        burst: dict[dt.date, list] = {}
        if self.scale == "small":
            flagship = [p for p in self.places if p.grid in self._flagship_grids()]
            weights = list(itertools.accumulate(p.weight for p in flagship))
            for _ in range(RECENT_BURST):
                day = self.now.date() - dt.timedelta(
                    days=self.rng.choice((1, 1, 1, 2, 2, 3, 4, 6, 8, 10))
                )
                place = flagship[min(self._pick(weights), len(flagship) - 1)]
                burst.setdefault(day, []).append((self._time_on(day), place))
        total = self._day_cumulative[-1]
        done = 0
        for index, day in enumerate(self.days):
            upto = round(self.n * self._day_cumulative[index] / total)
            items = [(self._time_on(day), None) for _ in range(upto - done)] + burst.get(day, [])
            done = upto
            items.sort(key=lambda item: item[0])
            for reported, place in items:
                yield self.simulate(reported, place)

    def _time_on(self, day: dt.date) -> dt.datetime:
        hour = min(self._pick(self._hour_cumulative), 23)
        return dt.datetime.combine(
            day, dt.time(hour, self.rng.randrange(60), self.rng.randrange(60))
        )

    def simulate(self, reported: dt.datetime, place: Place | None = None) -> SimCase:
        rng = self.rng
        leaf = self.leaves[
            min(self._pick(self._month_weights[reported.month]), len(self.leaves) - 1)
        ]
        if place is None:
            place = self.places[min(self._pick(self._place_cumulative), len(self.places) - 1)]
        recent = (self.now - reported).days < 45
        grid = place.grid
        channel = CHANNELS[min(self._pick(self._channel_cumulative), len(CHANNELS) - 1)][0]
        working = self.cal.is_workday(reported.date()) and 8 <= reported.hour < 18
        if channel == "patrol" and not working:
            channel = "resident"
        building = rng.choice(place.buildings)
        lat = round(building[1] + rng.uniform(-0.00015, 0.00015), 6)
        lng = round(building[2] + rng.uniform(-0.00015, 0.00015), 6)

        handler_type, company = leaf.handler_type, None
        if handler_type == HandlerType.PROPERTY:
            company = building[3]
            if company is None:
                handler_type = HandlerType.COMMUNITY
        unit = "" if company else grid[: UNIT_CODE_LENGTH[HandlerType(handler_type)]]
        group = leaf.parent.code
        reporter = None
        if (
            self.actors.resident
            and grid == self.actors.resident_grid
            and channel in ("resident", "api")
            and rng.random() < 0.35
        ):
            reporter = self.actors.resident[0]
        contact_name = contact_phone = ""
        if channel in ("hotline", "phone", "walk_in"):
            contact_name = person_name(rng)
            contact_phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        description = (
            f"{rng.choice(PLACES)}{leaf.name}，{rng.choice(DETAILS.get(group, ('请尽快处理',)))}。"
        )
        attributes = {}
        for attribute in leaf.attributes.all():
            if attribute.values:
                keys = attribute.value_keys
                attributes[attribute.code] = (
                    [rng.choice(keys)]
                    if attribute.datatype == "multivaluelist"
                    else rng.choice(keys)
                )
            elif attribute.required:
                attributes[attribute.code] = "—"
        case = {
            "code": self._code(reported.date()),
            "category_id": leaf.pk,
            "channel": channel,
            "source_ref": self._work_order(reported.date()) if channel == "hotline" else "",
            "priority": leaf.priority,
            "description": description,
            "attributes": attributes,
            "lat": lat,
            "lng": lng,
            "address": building[4][:200],
            "building_id": building[0],
            "region_code": grid,
            "reporter_id": reporter,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
            "handler_type": handler_type,
            "handler_unit_code": unit,
            "handler_company_id": company,
            "status": Status.REPORTED,
            "reported_at": reported,
            "escalation_level": 0,
            "extension_count": 0,
            "rework_count": 0,
            "reopen_count": 0,
            "satisfaction": "",
            "void_reason": "",
            "merged_into_id": None,
            "handler_id": None,
            "extension_requested": None,
            "extension_reason": "",
            "handling_seconds": None,
            "supervised": False,
        }
        for name in (
            "registered_at",
            "dispatched_at",
            "accepted_at",
            "handled_at",
            "closed_at",
            "voided_at",
            "due_at",
        ):
            case[name] = None
        sim = SimCase(case)
        plan: list[tuple] = []  # (time, action, from, to, actor kind, note, changes)

        def add(moment, action, to, kind, note="", **changes):
            """Append a step; times never run backwards (a step waits for the previous one)."""
            if plan and moment < plan[-1][0]:
                adjusted = plan[-1][0] + dt.timedelta(minutes=rng.randint(5, 90))
                changes = {k: (adjusted if v == moment else v) for k, v in changes.items()}
                moment = adjusted
            plan.append((moment, action, to, kind, note, changes))
            return moment

        reporter_kind = (
            "grid" if channel == "patrol" else ("community" if contact_name else "reporter")
        )
        add(reported, "report", Status.REPORTED, reporter_kind)
        t = reported
        key = (grid, leaf.pk)
        previous = self._open_by_key.get(key)
        duplicate_of = None
        if previous and (reported - previous[1]).days < 5 and rng.random() < 0.25:
            duplicate_of = previous[0]
        if leaf.auto_dispatch and duplicate_of is None:
            registered = t
            add(
                t,
                "register",
                Status.REGISTERED,
                "system",
                "定位明确，系统自动立案",
                registered_at=t,
            )
        else:
            slow = recent and rng.random() < 0.3  # the community has not got round to it yet
            registered = self._fraction_of(
                t,
                leaf.register_limit,
                leaf.register_unit,
                rng.uniform(1.0, 4.0) if slow else rng.lognormvariate(-1.0, 0.6),
            )
            if duplicate_of is not None:
                add(
                    registered,
                    "merge",
                    Status.MERGED,
                    "community",
                    "与同一问题合并办理",
                    merged_into_id=duplicate_of,
                )
                return self._finish(sim, plan, leaf)
            if rng.random() < 0.05:
                add(
                    registered,
                    "void",
                    Status.VOIDED,
                    "community",
                    "经核实不属于受理范围",
                    voided_at=registered,
                    void_reason="经核实不属于受理范围",
                )
                return self._finish(sim, plan, leaf)
            registered = add(
                registered, "register", Status.REGISTERED, "community", registered_at=registered
            )
        self._open_by_key[key] = (case["code"], reported)

        def cycle(start, *, reopen=False):
            """派遣 → 接单 → (延期) → 处理反馈 → (返工) → 核查; returns the closing time."""
            dispatched = (
                start
                if (leaf.auto_dispatch and not reopen and start == reported)
                else (
                    self._fraction_of(
                        start,
                        leaf.dispatch_limit,
                        leaf.dispatch_unit,
                        rng.lognormvariate(-1.2, 0.6),
                    )
                )
            )
            due = self._after(dispatched, leaf.handle_limit, leaf.handle_unit)
            dispatched = add(
                dispatched,
                "reopen" if reopen else "dispatch",
                Status.DISPATCHED,
                "reporter" if reopen else ("system" if dispatched == reported else "community"),
                "问题仍未解决" if reopen else "",
                dispatched_at=dispatched,
                due_at=due,
                handler_id=None,
                accepted_at=None,
                handled_at=None,
                closed_at=None,
            )
            kind = {
                "grid": "grid",
                "community": "community",
                "township": "township",
                "property": "property",
            }.get(handler_type, "community")
            accepted = self._fraction_of(
                dispatched, leaf.handle_limit, leaf.handle_unit, rng.uniform(0.02, 0.12)
            )
            accepted = add(
                accepted, "accept", Status.ACCEPTED, kind, accepted_at=accepted, _handler=kind
            )
            late = rng.random() < (
                0.15 if leaf.handle_limit >= 7 and leaf.handle_unit == "work_days" else 0.08
            )
            fraction = rng.uniform(1.02, 1.9) if late else rng.uniform(0.12, 0.95)
            if recent and rng.random() < 0.05:
                late, fraction = True, rng.uniform(2.0, 8.0)  # stuck: overdue and escalated
            current_due = due
            if rng.random() < 0.06:
                asked = self._fraction_of(
                    dispatched, leaf.handle_limit, leaf.handle_unit, rng.uniform(0.4, 0.8)
                )
                amount = rng.randint(1, max(1, min(3, leaf.handle_limit)))
                add(
                    asked,
                    "extend",
                    Status.ACCEPTED,
                    kind,
                    "需协调相关单位",
                    extension_requested=amount,
                )
                current_due = self._after(current_due, amount, leaf.handle_unit)
                decided = self._fraction_of(asked, 2, "work_hours", rng.uniform(0.2, 1.0))
                add(
                    decided,
                    "approve_extension",
                    Status.ACCEPTED,
                    "community",
                    "同意延期",
                    extension_requested=None,
                    due_at=current_due,
                    _extend=True,
                )
                if late:
                    fraction = rng.uniform(0.7, 1.2)
            handled = self._fraction_of(dispatched, leaf.handle_limit, leaf.handle_unit, fraction)
            handled = add(
                handled,
                "handle",
                Status.HANDLED,
                kind,
                "已处理完毕，现场已恢复",
                handled_at=handled,
                _handling_from=dispatched,
            )
            if rng.random() < 0.04:
                checked = self._fraction_of(
                    handled, leaf.verify_limit, leaf.verify_unit, rng.uniform(0.1, 0.6)
                )
                checked = add(
                    checked,
                    "rework",
                    Status.ACCEPTED,
                    "community",
                    "现场核查未完全整改",
                    _rework=True,
                )
                handled = self._fraction_of(
                    checked, leaf.handle_limit, leaf.handle_unit, rng.uniform(0.1, 0.4)
                )
                handled = add(
                    handled,
                    "handle",
                    Status.HANDLED,
                    kind,
                    "已重新整改",
                    handled_at=handled,
                    _handling_from=dispatched,
                )
            verifier = "grid" if kind != "grid" else "community"
            closed = self._fraction_of(
                handled,
                leaf.verify_limit,
                leaf.verify_unit,
                rng.uniform(1.05, 1.6) if rng.random() < 0.05 else rng.uniform(0.1, 0.9),
            )
            return add(
                closed, "verify", Status.CLOSED, verifier, "核查属实，予以结案", closed_at=closed
            )

        closed = cycle(registered)
        rated_by_resident = channel in ("resident", "api") and rng.random() < 0.65
        visited = channel in ("hotline", "phone", "walk_in") and rng.random() < 0.8
        if rated_by_resident or visited:
            roll = rng.random()
            rating = "satisfied" if roll < 0.86 else ("basic" if roll < 0.96 else "unsatisfied")
            when = closed + dt.timedelta(hours=rng.uniform(2, 72))
            source = "resident" if rated_by_resident else "visit"
            add(
                when,
                "rate" if rated_by_resident else "visit",
                Status.CLOSED,
                "reporter" if rated_by_resident else "community",
                {
                    "satisfied": "很满意，处理及时",
                    "basic": "基本解决了",
                    "unsatisfied": "问题没有彻底解决",
                }[rating],
                satisfaction=rating,
                _rating=(rating, source),
            )
            if rating == "unsatisfied" and rated_by_resident and rng.random() < 0.5:
                again = when + dt.timedelta(hours=rng.uniform(1, 48))
                closed = cycle(again, reopen=True)
                if rng.random() < 0.7:
                    second = "satisfied" if rng.random() < 0.6 else "basic"
                    add(
                        closed + dt.timedelta(hours=rng.uniform(2, 48)),
                        "rate",
                        Status.CLOSED,
                        "reporter",
                        "这次解决了",
                        satisfaction=second,
                        _rating=(second, "resident"),
                    )
        return self._finish(sim, plan, leaf)

    def _finish(self, sim: SimCase, plan: list[tuple], leaf) -> SimCase:
        """Replay the plan up to now; derive the fields, the clock and the escalations."""
        case = sim.fields
        grid = case["region_code"]
        company = case["handler_company_id"]
        status = ""
        last_change = case["reported_at"]
        round_ = 0
        for moment, action, to, kind, note, changes in plan:
            if moment > self.now:
                break
            user_id, name, role = (
                (self.actors.resident[0], "刘*", "resident")
                if kind == "reporter" and case["reporter_id"]
                else (
                    (None, "居民", "resident")
                    if kind == "reporter"
                    else self._actor(kind, grid, company)
                )
            )
            if kind == "reporter" and case["channel"] in ("hotline", "phone", "walk_in"):
                user_id, name, role = self._actor("community", grid)
            handler = changes.pop("_handler", None)
            if handler:
                case["handler_id"] = user_id
            if changes.pop("_extend", False):
                case["extension_count"] += 1
            if changes.pop("_rework", False):
                case["rework_count"] += 1
            start = changes.pop("_handling_from", None)
            if start is not None:
                case["handling_seconds"] = max(
                    0, self.cal.position(moment) - self.cal.position(start)
                )
            rating = changes.pop("_rating", None)
            if action == "reopen":
                case["reopen_count"] += 1
                case["rework_count"] += 1
                case["satisfaction"] = ""
                round_ += 1
            if rating:
                sim.ratings.append(
                    {
                        "round": round_,
                        "source": rating[1],
                        "rating": rating[0],
                        "comment": note,
                        "by_id": user_id,
                        "at": moment,
                    }
                )
            case.update(changes)
            sim.events.append(
                {
                    "at": moment,
                    "action": action,
                    "from_status": status,
                    "to_status": to,
                    "actor_id": user_id,
                    "actor_name": name,
                    "actor_role": role,
                    "note": note,
                    "public": action not in ("visit", "sla_red", "escalate"),
                }
            )
            if to != status:
                last_change = moment
            status = to
        case["status"] = status
        self._clock(sim, leaf, last_change)
        if status in (Status.CLOSED, Status.VOIDED, Status.MERGED):
            self._open_by_key.pop((grid, case["category_id"]), None)
        return sim

    def _clock(self, sim: SimCase, leaf, started: dt.datetime) -> None:
        case = sim.fields
        step = STEP_OF_STATUS.get(case["status"])
        case.update(
            step="",
            step_started_at=None,
            step_warn_at=None,
            step_due_at=None,
            escalate_at=None,
            sla_level=SlaLevel.GREEN,
        )
        if step is None:
            return
        if step == "handle":
            started, due = case["dispatched_at"], case["due_at"]
        else:
            amount, unit = leaf.limit(step)
            due = self._after(started, amount, unit)
        amount, unit = leaf.limit(step)
        if unit == LimitUnit.HOURS:
            warn = started + (due - started) * 0.8
        else:
            begin, end = self.cal.position(started), self.cal.position(due)
            warn = self.cal.moment_naive(begin + int((end - begin) * 0.8))
        ladder = leaf.ladder
        base = ladder.index(case["handler_type"]) if case["handler_type"] in ladder else 0
        escalate = self._after(due, leaf.escalation_grace, leaf.escalation_grace_unit)
        level = 0
        while escalate <= self.now and base + level + 1 < len(ladder):
            level += 1
            sim.events.append(
                {
                    "at": escalate,
                    "action": "escalate",
                    "from_status": case["status"],
                    "to_status": case["status"],
                    "actor_id": None,
                    "actor_name": "系统",
                    "actor_role": "system",
                    "note": "超期未处置，升级至上一级",
                    "public": False,
                }
            )
            escalate = self._after(escalate, leaf.escalation_grace, leaf.escalation_grace_unit)
        if due <= self.now:
            sim.events.append(
                {
                    "at": due,
                    "action": "sla_red",
                    "from_status": case["status"],
                    "to_status": case["status"],
                    "actor_id": None,
                    "actor_name": "系统",
                    "actor_role": "system",
                    "note": "已超过办理时限，自动督办",
                    "public": False,
                }
            )
            sim.events.sort(key=lambda e: e["at"])
        case.update(
            step=step,
            step_started_at=started,
            step_warn_at=warn,
            step_due_at=due,
            escalate_at=escalate if base + level + 1 < len(ladder) else None,
            escalation_level=level,
            supervised=due <= self.now,
            sla_level=SlaLevel.RED
            if due <= self.now
            else (SlaLevel.YELLOW if warn <= self.now else SlaLevel.GREEN),
        )

    def aware(self, value):
        return value.replace(tzinfo=self.tz) if isinstance(value, dt.datetime) else value


# --- seeding --------------------------------------------------------------------------------


def _now_and_start(scale: str) -> tuple[dt.datetime, dt.datetime]:
    today = timezone.localdate()
    now = dt.datetime.combine(today, dt.time())
    start = (
        now.replace(year=now.year - YEARS[scale])
        if not (today.month == 2 and today.day == 29)
        else now - dt.timedelta(days=365 * YEARS[scale])
    )
    return now, start


def seed(ctx: SeedContext) -> None:
    now, start = _now_and_start(ctx.scale)
    simulator = Simulator(ctx, now=now, start=start, n=CASES[ctx.scale])
    if ctx.scale in ("city", "medium"):
        seed_bulk(ctx, simulator)
    else:
        seed_small(ctx, simulator)


def _case_model(sim: SimCase, pk: int, aware) -> Case:
    from shequ.core.crypto import blind_index

    fields = {k: aware(v) for k, v in sim.fields.items()}
    phone = fields["contact_phone"]
    return Case(
        pk=pk,
        updated_at=fields["reported_at"],
        contact_phone_hash=blind_index(phone, context=CONTACT_PHONE_CONTEXT) if phone else "",
        **fields,
    )


def seed_small(ctx: SeedContext, simulator: Simulator) -> None:
    started = time.perf_counter()
    aware = simulator.aware
    next_id = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    codes: dict[str, int] = {}
    cases, events, ratings = [], [], []
    for pk, sim in enumerate(simulator.cases(), start=next_id):
        codes[sim.fields["code"]] = pk
        target = sim.fields.get("merged_into_id")
        if target is not None:
            sim.fields["merged_into_id"] = codes[target]
        cases.append(_case_model(sim, pk, aware))
        events += [CaseEvent(case_id=pk, **{k: aware(v) for k, v in e.items()}) for e in sim.events]
        ratings += [
            CaseRating(case_id=pk, **{k: aware(v) for k, v in r.items()}) for r in sim.ratings
        ]
    Case.objects.bulk_create(cases, batch_size=500)
    CaseEvent.objects.bulk_create(events, batch_size=2000)
    CaseRating.objects.bulk_create(ratings, batch_size=2000, ignore_conflicts=True)
    _reset_sequences()
    extras = _demo_extras(ctx, simulator)
    ctx.log(
        f"    {len(cases)} cases, {len(events)} timeline rows, {len(ratings)} ratings, "
        f"{extras} photos ({time.perf_counter() - started:.1f} s)"
    )


def _demo_extras(ctx: SeedContext, simulator: Simulator) -> int:
    """Photos for recent cases of the flagship grids, a follow, and open cases for the demo
    accounts (a pending extension, something to verify)."""
    from shequ.cases import evidence

    rng = ctx.rng("case-photos")
    flagship = simulator._flagship_grids()[:2]
    recent = timezone.now() - dt.timedelta(days=60)
    photos = 0
    candidates = (
        Case.objects.filter(
            region_code__in=flagship, reported_at__gte=recent, category__photo_required=True
        )
        .exclude(channel__in=["hotline", "phone", "walk_in"])
        .order_by("reported_at")
        .prefetch_related("events")[:40]
    )
    for case in candidates:
        for event in case.events.all():
            kind = {"report": PhotoKind.REPORT, "handle": PhotoKind.HANDLE}.get(event.action)
            if kind is None:
                continue
            checked = evidence.check_photo(_demo_image(rng, after=kind == PhotoKind.HANDLE))
            path, thumb = evidence.store(checked)
            CasePhoto.objects.create(
                case=case,
                event=event,
                kind=kind,
                path=path,
                thumb_path=thumb,
                content_type=checked.content_type,
                size=len(checked.data),
                width=checked.width,
                height=checked.height,
                sha256=checked.sha256,
                uploaded_by_id=event.actor_id,
                created_at=event.at,
            )
            photos += 1
    actors = simulator.actors
    if actors.resident:
        other = (
            Case.objects.filter(
                region_code=actors.resident_grid, status__in=["dispatched", "accepted"]
            )
            .exclude(reporter_id=actors.resident[0])
            .order_by("code")
            .first()
        )
        if other is not None:
            CaseFollow.objects.get_or_create(case=other, user_id=actors.resident[0])
            Case.objects.filter(pk=other.pk).update(follower_count=1)
    pending = (
        Case.objects.filter(
            region_code__in=flagship, status="accepted", extension_requested__isnull=True
        )
        .order_by("code")
        .first()
    )
    if pending is not None:
        Case.objects.filter(pk=pending.pk).update(
            extension_requested=1, extension_reason="需协调环卫清运车辆"
        )
    _work_for_the_demo_grid_worker(actors)
    return photos


DEMO_INBOX_MINIMUM = 3
FRESH_REPORTS = ("单元门口有垃圾堆放", "楼道灯不亮", "小区路面有坑洼")


def _work_for_the_demo_grid_worker(actors: "Actors") -> None:
    """However the simulation's cut at "now" fell today, the demo grid worker (`grid`) opens
    an inbox with work in it: top it up with this morning's reports from the demo resident,
    filed and auto-dispatched through `case_report` as a real report would be."""
    from shequ.accounts.models import Assignment
    from shequ.cases import selectors, services
    from shequ.cases.models import Category
    from shequ.geo.models import Region

    worker = Assignment.objects.filter(
        user__username="grid", role="grid_worker", is_active=True
    ).select_related("user", "region")
    assignment = worker.first()
    if assignment is None or not actors.resident:
        return
    user, grid = assignment.user, assignment.region
    missing = DEMO_INBOX_MINIMUM - selectors.inbox(user).count()
    category = (
        Category.objects.filter(
            parent__isnull=False,
            is_active=True,
            auto_dispatch=True,
            handler_type="grid",
            photo_required=False,
            attributes__isnull=True,
        )
        .order_by("code")
        .first()
    )
    if missing <= 0 or category is None or grid.centroid_lat is None:
        return
    reporter = type(user).objects.get(pk=actors.resident[0])
    grid = Region.objects.get(pk=grid.pk)
    for description in FRESH_REPORTS[:missing]:
        services.case_report(
            actor=reporter,
            category=category.code,
            description=description,
            lat=grid.centroid_lat,
            lng=grid.centroid_lng,
        )


def _demo_image(rng, after: bool) -> bytes:
    """A synthetic scene: a street with (before) or without (after) a pile of rubbish."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (150 + rng.randrange(40), 190, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 300, 640, 480], fill=(110, 110, 110))
    draw.rectangle([40, 120, 260, 300], fill=(200, 180, 150))
    draw.rectangle([360, 80, 600, 300], fill=(190, 170, 140))
    for _ in range(0 if after else 18):
        x, y = rng.randrange(150, 500), rng.randrange(320, 430)
        r = rng.randrange(10, 30)
        draw.ellipse(
            [x - r, y - r, x + r, y + r], fill=(rng.randrange(60, 120), rng.randrange(60, 100), 40)
        )
    if after:
        draw.rectangle([280, 340, 360, 420], fill=(40, 120, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _reset_sequences() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("cases_case", "cases_caseevent", "cases_caserating"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )


# --- the city-scale bulk path -----------------------------------------------------------------

CASE_COLUMNS = [
    "id", "code", "category_id", "channel", "source_ref", "client", "device_id", "media_url",
    "status", "priority", "description", "attributes", "lat", "lng", "address", "building_id",
    "region_code", "near_grids", "reporter_id", "contact_name", "contact_phone",
    "contact_phone_hash", "handler_type", "handler_unit_code", "handler_company_id",
    "handler_id", "escalation_level", "supervised", "reported_at", "registered_at",
    "dispatched_at", "accepted_at", "handled_at", "closed_at", "voided_at", "due_at", "step",
    "step_started_at", "step_warn_at", "step_due_at", "escalate_at", "sla_level",
    "extension_requested", "extension_reason", "extension_count", "rework_count",
    "reopen_count", "handling_seconds", "satisfaction", "void_reason", "merged_into_id",
    "follower_count", "version", "updated_at",
]  # fmt: skip
EVENT_COLUMNS = [
    "id", "case_id", "at", "action", "from_status", "to_status", "actor_id", "actor_name",
    "actor_role", "note", "public", "data",
]  # fmt: skip


def _case_values(sim: SimCase, pk: int, aware) -> dict:
    import json

    f = sim.fields
    return {
        **{k: aware(v) for k, v in f.items()},
        "id": pk,
        "client": "",
        "device_id": "",
        "media_url": "",
        "attributes": json.dumps(f["attributes"], ensure_ascii=False),
        "near_grids": "[]",
        "contact_phone_hash": "",
        "follower_count": 0,
        "version": 0,
        "updated_at": aware(f["reported_at"]),
    }


def seed_bulk(ctx: SeedContext, simulator: Simulator) -> None:
    """Cases (with an abbreviated timeline) streamed into the database: COPY on PostgreSQL,
    batched inserts elsewhere. Secondary indexes are dropped during the load and rebuilt."""
    started = time.perf_counter()
    aware = simulator.aware
    next_id = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    next_event = (CaseEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    codes: dict[str, int] = {}
    event_ids = itertools.count(next_event)
    total = simulator.n

    def rows():
        recent: collections.deque = collections.deque()  # (reported, code) of the last week
        for pk, sim in enumerate(simulator.cases(), start=next_id):
            reported = sim.fields["reported_at"]
            while recent and (reported - recent[0][0]).days > 7:
                codes.pop(recent.popleft()[1], None)
            target = sim.fields.get("merged_into_id")
            if target is not None:
                sim.fields["merged_into_id"] = codes.get(target)
                if sim.fields["merged_into_id"] is None:  # pragma: no cover - a stale target
                    sim.fields["status"] = Status.VOIDED
                    sim.fields["void_reason"] = "重复上报"
            codes[sim.fields["code"]] = pk
            recent.append((reported, sim.fields["code"]))
            events = sim.events
            kept = events if len(events) <= 2 else [events[0], events[-1]]
            yield (
                _case_values(sim, pk, aware),
                [
                    (
                        next(event_ids),
                        pk,
                        aware(e["at"]),
                        e["action"],
                        e["from_status"],
                        e["to_status"],
                        e["actor_id"],
                        e["actor_name"],
                        e["actor_role"],
                        e["note"],
                        e["public"],
                        "{}",
                    )
                    for e in kept
                ],
            )
            if (pk - next_id + 1) % 500_000 == 0:
                ctx.log(
                    f"    {pk - next_id + 1:,}/{total:,} cases, "
                    f"{time.perf_counter() - started:.0f} s, peak RSS {peak_rss_mb():.0f} MB"
                )

    load = _copy_postgres if connection.vendor == "postgresql" else _insert_batches
    count = load(rows())
    _reset_sequences()
    ctx.log(
        f"    {count:,} cases in {time.perf_counter() - started:.0f} s "
        f"(peak RSS {peak_rss_mb():.0f} MB)"
    )


def _copy_postgres(rows) -> int:
    """COPY the cases while spooling their timeline rows to a temporary CSV file, then COPY
    that (the events' foreign key needs the cases first, on the same connection)."""
    import csv
    import tempfile

    from shequ.core.crypto import blind_index, encrypt

    with connection.cursor() as cursor:
        # Foreign keys are deferred by default: check them row by row instead of queueing
        # millions of trigger events (which would also forbid rebuilding the indexes).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('cases_case', 'cases_caseevent') AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid IN "
            "('cases_case'::regclass, 'cases_caseevent'::regclass))"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        count = 0
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
            writer = csv.writer(spool, quoting=csv.QUOTE_NOTNULL)
            columns = ", ".join(CASE_COLUMNS)
            with raw.copy(f"COPY cases_case ({columns}) FROM STDIN") as copy:
                for values, events in rows:
                    phone = values["contact_phone"]
                    if phone:
                        values["contact_phone"] = encrypt(phone, context=CONTACT_PHONE_CONTEXT)
                        values["contact_phone_hash"] = blind_index(
                            phone, context=CONTACT_PHONE_CONTEXT
                        )
                    copy.write_row(tuple(values[c] for c in CASE_COLUMNS))
                    writer.writerows(events)
                    count += 1
            spool.seek(0)
            columns = ", ".join(EVENT_COLUMNS)
            with raw.copy(f"COPY cases_caseevent ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
                while chunk := spool.read(1 << 20):
                    copy.write(chunk)
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("ANALYZE cases_case")
        cursor.execute("ANALYZE cases_caseevent")
    return count


def _insert_batches(rows) -> int:
    """The portable bulk path (SQLite): batched inserts through the ORM."""
    import json

    from shequ.core.crypto import blind_index

    count = 0
    cases, events = [], []
    for values, event_rows in rows:
        values = {**values, "attributes": json.loads(values["attributes"]), "near_grids": []}
        if values["contact_phone"]:
            values["contact_phone_hash"] = blind_index(
                values["contact_phone"], context=CONTACT_PHONE_CONTEXT
            )
        cases.append(Case(**values))
        events += [
            CaseEvent(**{**dict(zip(EVENT_COLUMNS, e, strict=True)), "data": {}})
            for e in event_rows
        ]
        count += 1
        if len(cases) >= 5000:
            Case.objects.bulk_create(cases)
            CaseEvent.objects.bulk_create(events)
            cases, events = [], []
    if cases:
        Case.objects.bulk_create(cases)
        CaseEvent.objects.bulk_create(events)
    return count


def DIGEST():
    yield (
        "cases",
        Case.objects.order_by("code").values_list(
            "code",
            "category__code",
            "status",
            "region_code",
            "reported_at",
            "due_at",
            "handler_type",
            "satisfaction",
            "sla_level",
        ),
    )
    yield (
        "case_events",
        CaseEvent.objects.order_by("case__code", "at", "id").values_list(
            "case__code", "action", "at", "to_status"
        ),
    )
