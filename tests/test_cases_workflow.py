"""The closed loop's transitions: every action allowed and forbidden from every status,
permissions, the handler/verifier rule, routing, duplicates, merging, rating and reopening."""

import datetime as dt

import pytest
import time_machine
from django.http import Http404

from shequ.cases import access, selectors, services
from shequ.cases.models import Case, CaseEvent, CaseFollow, CaseRating
from shequ.cases.workflow import TRANSITIONS, Action, HandlerType, Status
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from shequ.core.models import AppendOnlyError
from tests.support.cases import (
    drive,
    managed_building,
    photo_bytes,
    point_in,
    point_near_boundary,
    report,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]

NOISE = {"times": ["v2"]}  # 噪音扰民 (0904): grid-handled, dispatched by the community


def noise_case(persona, world, to=Status.REPORTED):
    case = report(persona("resident"), "0904", grid=world["grid_a"], attributes=NOISE, photos=[])
    assert case.status == Status.REPORTED and case.handler_type == HandlerType.GRID
    return drive(case, to, persona)


STATUSES = [
    Status.REPORTED,
    Status.REGISTERED,
    Status.DISPATCHED,
    Status.ACCEPTED,
    Status.HANDLED,
    Status.CLOSED,
    Status.VOIDED,
    Status.MERGED,
]


def run(action, case, persona, world):
    """Perform `action` with a person allowed to (role-wise) and valid parameters."""
    community, grid, resident = persona("community"), persona("grid"), persona("resident")
    if action == Action.APPROVE_EXTENSION and case.status in TRANSITIONS[action].sources:
        case = services.case_request_extension(
            case=case,
            actor=grid,
            amount=1,
            reason="需协调",
        )
    calls = {
        Action.REGISTER: lambda: services.case_register(case=case, actor=community),
        Action.VOID: lambda: services.case_void(case=case, actor=community, reason="无效"),
        Action.DISPATCH: lambda: services.case_dispatch(case=case, actor=community),
        Action.ACCEPT: lambda: services.case_accept(case=case, actor=grid),
        Action.HANDLE: lambda: services.case_handle(
            case=case, actor=grid, note="已处理", photos=[photo_bytes()]
        ),
        Action.VERIFY: lambda: services.case_verify(case=case, actor=community),
        Action.REWORK: lambda: services.case_rework(case=case, actor=community, note="未清理干净"),
        Action.EXTEND: lambda: services.case_request_extension(
            case=case, actor=grid, amount=1, reason="需协调"
        ),
        Action.APPROVE_EXTENSION: lambda: services.case_approve_extension(
            case=case, actor=community
        ),
        Action.RETURN: lambda: services.case_return(case=case, actor=grid, reason="不属于本网格"),
        Action.REOPEN: lambda: services.case_reopen(case=case, actor=resident, reason="又有噪音"),
        Action.RATE: lambda: services.case_rate(case=case, actor=resident, rating="satisfied"),
        Action.MERGE: lambda: services.case_merge(
            case=case, actor=community, into=report(resident, "0101", grid=world["grid_a"])
        ),
        Action.SUPERVISE: lambda: services.case_supervise(case=case, actor=community, note="督办"),
        Action.ESCALATE: lambda: services.case_escalate(case=case, actor=community),
        Action.VISIT: lambda: services.case_visit(case=case, actor=community, rating="basic"),
    }
    return calls[action]()


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", [a for a in Action if a != Action.REPORT])
def test_every_transition_allowed_and_forbidden(status, action, persona, world):
    case = noise_case(persona, world, status)
    events_before = CaseEvent.objects.filter(case=case).count()
    rule = TRANSITIONS[action]
    if status in rule.sources:
        result = run(action, case, persona, world)
        expected = rule.target or status
        assert result.status == expected
        assert CaseEvent.objects.filter(case=case).count() > events_before
        last = CaseEvent.objects.filter(case=case).order_by("-at", "-id").first()
        assert last.from_status == status
    else:
        with pytest.raises(ConflictError) as error:
            run(action, case, persona, world)
        assert error.value.status == 409
        assert str(Status(status).label) in error.value.message  # names the current status
        assert error.value.details["status"] == status
        case.refresh_from_db()
        assert case.status == status


def test_happy_path_timeline_and_clock(persona, world):
    case = noise_case(persona, world, Status.CLOSED)
    actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions == ["report", "register", "dispatch", "accept", "handle", "verify"]
    assert case.due_at is not None and case.handled_at <= case.due_at
    assert case.step == "" and case.step_due_at is None  # no clock after closure
    assert case.handling_seconds is not None
    event = CaseEvent.objects.filter(case=case, action="accept").get()
    assert event.actor == persona("grid") and event.actor_role == "grid_worker"
    assert (event.from_status, event.to_status) == ("dispatched", "accepted")


def test_timeline_rows_are_immutable(persona, world):
    case = noise_case(persona, world)
    event = CaseEvent.objects.filter(case=case).first()
    with pytest.raises(AppendOnlyError):
        CaseEvent.objects.filter(pk=event.pk).update(note="changed")
    event.note = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    from django.db import DatabaseError, connection, transaction

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cases_caseevent SET note = 'x' WHERE id = %s", [event.pk])


def test_auto_dispatch_to_grid_worker(persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    assert case.status == Status.DISPATCHED
    assert case.region_code == world["grid_a"]
    assert case.handler_type == HandlerType.GRID and case.handler_unit_code == world["grid_a"]
    assert list(CaseEvent.objects.filter(case=case).values_list("action", "actor_role")) == [
        ("report", "resident"),
        ("register", "system"),
        ("dispatch", "system"),
    ]
    assert case in selectors.inbox(persona("grid"))
    assert case not in selectors.inbox(persona("grid2"))


def test_two_grid_workers_of_the_unit_one_wins_sequentially(persona, world):
    from shequ.accounts.models import Assignment, User

    helper = User.objects.create_user("grid1b", password="x", full_name="钱网格")
    Assignment.objects.create(
        user=helper, role="grid_worker", region_id=persona("grid").assignments.get().region_id
    )
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    stale = Case.objects.get(pk=case.pk)
    services.case_accept(case=case, actor=persona("grid"))
    with pytest.raises(ConflictError) as error:
        services.case_accept(case=stale, actor=helper)
    assert "处置中" in error.value.message


def test_handler_cannot_verify_own_work(persona, world):
    # A community-handled case: 李社区 accepts and handles, then tries to verify → 403.
    case = report(persona("resident"), "0204", grid=world["grid_a"])  # 健身器材损坏 → community
    assert case.handler_type == HandlerType.COMMUNITY
    community = persona("community")
    case = services.case_accept(case=case, actor=community)
    case = services.case_handle(case=case, actor=community, note="已维修", photos=[photo_bytes()])
    with pytest.raises(PermissionDeniedError) as error:
        services.case_verify(case=case, actor=community)
    assert error.value.code == "own_work"
    # The grid worker of the grid (someone else, with cases.verify) may verify.
    assert services.case_verify(case=case, actor=persona("grid")).status == Status.CLOSED


def test_only_acceptor_handles(persona, world):
    case = report(persona("resident"), "0204", grid=world["grid_a"])
    case = services.case_accept(case=case, actor=persona("community"))
    from shequ.accounts.models import Assignment, User

    colleague = User.objects.create_user("staff-x", password="x")
    Assignment.objects.create(
        user=colleague,
        role="community_staff",
        region_id=persona("community").assignments.get().region_id,
    )
    with pytest.raises(PermissionDeniedError):
        services.case_handle(case=case, actor=colleague, note="x", photos=[photo_bytes()])


def test_roles_without_the_permission_get_403(persona, world):
    case = noise_case(persona, world)
    with pytest.raises(PermissionDeniedError):
        services.case_register(case=case, actor=persona("resident"))
    with pytest.raises(PermissionDeniedError):
        services.case_register(case=case, actor=persona("grid"))
    with pytest.raises(PermissionDeniedError):  # outside the township's scope? no: other grid
        services.case_register(case=case, actor=persona("grid2"))
    with pytest.raises(PermissionDeniedError):
        services.case_accept(case=drive(case, Status.DISPATCHED, persona), actor=persona("grid2"))


def test_handle_requires_note_and_after_photo(persona, world):
    case = services.case_accept(
        case=report(persona("resident"), "0101", grid=world["grid_a"]), actor=persona("grid")
    )
    with pytest.raises(InvalidInput) as error:
        services.case_handle(case=case, actor=persona("grid"), note="已处理", photos=[])
    assert error.value.details[0]["field"] == "photos"
    with pytest.raises(InvalidInput):
        services.case_handle(case=case, actor=persona("grid"), note="  ", photos=[photo_bytes()])
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED


def test_return_and_redispatch(persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    case = services.case_return(case=case, actor=persona("grid"), reason="这里是物业管理区域")
    assert case.status == Status.REGISTERED and case.due_at is None and case.step == "dispatch"
    case = services.case_dispatch(
        case=case,
        actor=persona("community"),
        handler_type="property",
        handler_company=managed_building(world["grid_a"]).estate.property_company_id,
    )
    assert case.status == Status.DISPATCHED and case.handler_type == HandlerType.PROPERTY
    assert case in selectors.inbox(persona("property"))
    assert services.case_accept(case=case, actor=persona("property")).status == Status.ACCEPTED


def test_redispatch_keeps_the_deadline(persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    due = case.due_at
    case = services.case_dispatch(case=case, actor=persona("community"), handler_type="community")
    assert case.handler_type == HandlerType.COMMUNITY and case.due_at == due


def test_dispatch_refuses_a_unit_elsewhere(persona, world):
    case = drive(noise_case(persona, world), Status.REGISTERED, persona)
    with pytest.raises(InvalidInput):
        services.case_dispatch(
            case=case,
            actor=persona("community"),
            handler_type="grid",
            handler_unit_code=world["grid_b"],
        )


def test_extension_request_and_refusal(persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    case = services.case_request_extension(
        case=case, actor=persona("grid"), amount=1, reason="等待清运车"
    )
    with pytest.raises(ConflictError):
        services.case_request_extension(case=case, actor=persona("grid"), amount=1, reason="再等")
    with pytest.raises(InvalidInput):
        services.case_request_extension(case=case, actor=persona("grid"), amount=99, reason="x")
    due = case.due_at
    case = services.case_approve_extension(
        case=case, actor=persona("community"), approved=False, note="请尽快处理"
    )
    assert case.due_at == due and case.extension_count == 0 and case.extension_requested is None
    assert CaseEvent.objects.filter(case=case, action="reject_extension").exists()


def test_escalation_climbs_the_ladder_to_the_top(persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])  # grid → … → city
    for level in ("community", "township", "city"):
        case = services.case_escalate(case=case, actor=None)
        assert CaseEvent.objects.filter(case=case, action="escalate").last().data["level"] == level
    assert case.supervised and case.escalation_level == 3 and case.escalate_at is None
    with pytest.raises(ConflictError):
        services.case_escalate(case=case, actor=None)


class TestRouting:
    def test_property_category_goes_to_the_estates_company(self, persona, world):
        building = managed_building(world["grid_a"])
        case = report(
            persona("resident"), "0602", building=building.code, attributes={}
        )  # 楼道堆物
        assert case.handler_type == HandlerType.PROPERTY
        assert case.handler_company_id == building.estate.property_company_id
        assert case.region_code == building.region_code
        # Property staff see it (company scope) and nothing of other companies.
        assert case in access.visible_cases(persona("property"))

    def test_property_category_from_a_map_point_near_a_building(self, persona, world):
        building = managed_building(world["grid_a"])
        case = report(
            persona("resident"), "0602", lat=building.lat + 0.0001, lng=building.lng, attributes={}
        )
        assert case.handler_type == HandlerType.PROPERTY

    def test_property_category_without_a_company_goes_to_the_community(self, persona, world):
        from shequ.geo.models import Building

        rural = Building.objects.filter(estate__property_company__isnull=True).first()
        case = report(persona("resident"), "0602", building=rural.code, attributes={})
        assert case.handler_type == HandlerType.COMMUNITY
        assert case.handler_unit_code == rural.region_code[:12]

    def test_township_category(self, persona, world):
        case = report(persona("resident"), "0301", grid=world["grid_a"])  # 道路破损
        assert case.handler_type == HandlerType.TOWNSHIP
        assert case.handler_unit_code == world["township"]

    def test_near_boundary_notifies_the_neighbouring_grid_worker(
        self, persona, world, django_capture_on_commit_callbacks
    ):
        from shequ.notifications.models import Notification

        lat, lng = point_near_boundary(world["grid_a"], world["grid_b"])
        with django_capture_on_commit_callbacks(execute=True):
            case = report(persona("resident"), "0101", lat=lat, lng=lng)
        assert case.region_code == world["grid_a"]
        assert world["grid_b"] in case.near_grids
        assert Notification.objects.filter(
            recipient=persona("grid2"), kind="case_near_boundary"
        ).exists()
        assert Notification.objects.filter(
            recipient=persona("grid"), kind="case_dispatched"
        ).exists()


class TestScope:
    def test_grid2_gets_404_on_grids_case(self, persona, world):
        case = report(persona("resident"), "0101", grid=world["grid_a"])
        with pytest.raises(Http404):
            access.get_case_or_404(persona("grid2"), case.pk)
        assert access.get_case_or_404(persona("grid"), case.pk) == case
        assert case not in access.visible_cases(persona("grid2"))

    def test_resident_sees_only_own_cases(self, persona, world):
        from shequ.accounts.models import User

        mine = report(persona("resident"), "0101", grid=world["grid_a"])
        other = report(persona("grid"), "0101", grid=world["grid_a"], channel="patrol")
        visible = access.visible_cases(persona("resident"))
        assert mine in visible and other not in visible
        assert not access.visible_cases(User.objects.create_user("nobody")).exists()

    def test_township_and_city_see_overviews(self, persona, world):
        case = report(persona("resident"), "0101", grid=world["grid_a"])
        assert case in access.visible_cases(persona("township"))
        assert case in access.visible_cases(persona("city"))
        assert case in access.visible_cases(persona("auditor"))


class TestDuplicates:
    def test_suggests_open_cases_of_the_category_nearby(self, persona, world):
        lat, lng = point_in(world["grid_a"])
        first = report(persona("grid"), "0101", lat=lat, lng=lng, channel="patrol")
        report(persona("grid"), "0102", lat=lat, lng=lng, channel="patrol")  # other category
        far = report(persona("resident"), "0101", lat=lat + 0.0015, lng=lng)
        found = selectors.duplicate_candidates(category=first.category, lat=lat + 0.0002, lng=lng)
        assert [d.case_id for d in found] == [first.pk]
        assert 15 <= found[0].distance_m <= 30
        assert far.pk not in [d.case_id for d in found]

    def test_old_or_closed_cases_are_not_suggested(self, persona, world):
        lat, lng = point_in(world["grid_a"])
        with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(days=8)):
            report(persona("grid"), "0101", lat=lat, lng=lng, channel="patrol")
        closed = drive(
            report(persona("resident"), "0101", lat=lat, lng=lng), Status.CLOSED, persona
        )
        found = selectors.duplicate_candidates(category=closed.category, lat=lat, lng=lng)
        assert found == []

    def test_follow_instead_of_filing(self, persona, world):
        lat, lng = point_in(world["grid_a"])
        case = report(persona("grid"), "0101", lat=lat, lng=lng, channel="patrol")
        services.case_follow(case=case, actor=persona("resident"))
        services.case_follow(case=case, actor=persona("resident"))  # idempotent
        case.refresh_from_db()
        assert case.follower_count == 1
        assert case in selectors.my_cases(persona("resident"))
        view = selectors.case_for_user(persona("resident"), case.pk)
        assert view.limited and not view.photos_by_event and not view.actions
        with pytest.raises(ConflictError):
            services.case_follow(
                case=drive(case, Status.CLOSED, persona), actor=persona("resident")
            )

    def test_staff_merge_duplicate(self, persona, world):
        lat, lng = point_in(world["grid_a"])
        original = report(persona("grid"), "0101", lat=lat, lng=lng, channel="patrol")
        duplicate = report(persona("resident"), "0101", lat=lat, lng=lng)
        merged = services.case_merge(case=duplicate, actor=persona("community"), into=original)
        assert merged.status == Status.MERGED and merged.merged_into == original
        assert CaseFollow.objects.filter(case=original, user=persona("resident")).exists()
        assert merged.step_due_at is None
        with pytest.raises(InvalidInput):
            services.case_merge(case=original, actor=persona("community"), into=original)


class TestRatingAndReopen:
    def test_reporter_rates_once(self, persona, world):
        case = drive(
            report(persona("resident"), "0101", grid=world["grid_a"]), Status.CLOSED, persona
        )
        case = services.case_rate(
            case=case, actor=persona("resident"), rating="basic", comment="还行"
        )
        assert case.satisfaction == "basic"
        with pytest.raises(ConflictError):
            services.case_rate(case=case, actor=persona("resident"), rating="satisfied")
        with pytest.raises(PermissionDeniedError):
            services.case_rate(case=case, actor=persona("grid"), rating="satisfied")

    def test_bad_rating_value(self, persona, world):
        case = drive(
            report(persona("resident"), "0101", grid=world["grid_a"]), Status.CLOSED, persona
        )
        with pytest.raises(InvalidInput):
            services.case_rate(case=case, actor=persona("resident"), rating="great")

    def test_unsatisfied_reopens_once_within_seven_days(self, persona, world):
        case = drive(
            report(persona("resident"), "0101", grid=world["grid_a"]), Status.CLOSED, persona
        )
        case = services.case_rate(
            case=case,
            actor=persona("resident"),
            rating="unsatisfied",
            comment="垃圾还在",
            reopen=True,
        )
        assert case.status == Status.DISPATCHED
        assert case.reopen_count == 1 and case.rework_count == 1 and case.satisfaction == ""
        assert case.due_at > case.dispatched_at
        case = drive(case, Status.CLOSED, persona)
        # A second round may be rated again, but not reopened again.
        case = services.case_rate(case=case, actor=persona("resident"), rating="satisfied")
        assert CaseRating.objects.filter(case=case).count() == 2
        with pytest.raises(ConflictError):
            services.case_reopen(case=case, actor=persona("resident"), reason="again")

    def test_reopen_after_seven_days_is_refused(self, persona, world):
        case = drive(
            report(persona("resident"), "0101", grid=world["grid_a"]), Status.CLOSED, persona
        )
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
        with time_machine.travel(later), pytest.raises(ConflictError) as error:
            services.case_reopen(case=case, actor=persona("resident"), reason="没修好")
        assert error.value.code == "reopen_expired"

    def test_rework_by_verifier_counts(self, persona, world):
        case = drive(
            report(persona("resident"), "0101", grid=world["grid_a"]), Status.HANDLED, persona
        )
        case = services.case_rework(case=case, actor=persona("community"), note="还有残留")
        assert case.status == Status.ACCEPTED and case.rework_count == 1
        assert case.handler == persona("grid")

    def test_staff_return_visit_for_hotline_case(self, persona, world):
        case = report(
            persona("community"),
            "0101",
            grid=world["grid_a"],
            channel="hotline",
            source_ref="12345-20261127-0001",
            contact_name="王大妈",
            contact_phone="13912345678",
            photos=[],
        )
        assert case.reporter is None and case.status == Status.DISPATCHED
        case = drive(case, Status.CLOSED, persona)
        case = services.case_visit(
            case=case, actor=persona("community"), rating="satisfied", note="电话回访，已解决"
        )
        assert case.satisfaction == "satisfied"
        with pytest.raises(ConflictError):
            services.case_visit(case=case, actor=persona("community"), rating="basic")
        with pytest.raises(PermissionDeniedError):
            services.case_visit(case=case, actor=persona("grid"), rating="basic")


def test_available_actions_follow_status_and_role(persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    grid_actions = selectors.available_actions(persona("grid"), case)
    assert "accept" in grid_actions and "extend" in grid_actions and "register" not in grid_actions
    community_actions = selectors.available_actions(persona("community"), case)
    assert "dispatch" in community_actions and "accept" not in community_actions
    assert selectors.available_actions(persona("resident"), case) == []
