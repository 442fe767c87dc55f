"""One simulated case from report to "now": the plan of its steps (立案, 派遣, 接单, 延期, 处理反馈,
返工, 核查结案, 评价/回访, 重办), replayed up to now, with its clock and escalations."""

import datetime as dt
import itertools
from typing import Any

from shequ.cases.demo.patterns import CHANNELS, DETAILS, PLACES, RECENT_BURST, Place, SimCase
from shequ.cases.demo.sampling import SimulatorBase
from shequ.cases.workflow import STEP_OF_STATUS, UNIT_CODE_LENGTH, HandlerType, SlaLevel, Status
from shequ.core.deadlines import LimitUnit
from shequ.demo.names import person_name


class Simulator(SimulatorBase):
    """Simulates cases through the closed loop with the real calendar and category limits."""

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
        assert leaf.parent is not None  # self.leaves holds 小类 only
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
        case: dict[str, Any] = {
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
                # reporter_id is only ever the demo resident's (simulate), so resident is set.
                if kind == "reporter" and case["reporter_id"] and self.actors.resident
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
