"""Every URL that takes an object id answers 404 to people outside the object's scope.

The test walks the whole URL configuration (pages, the /api/v1 routes that django-ninja exposes
as Django URL patterns, the admin) and, for every pattern with a parameter, fills in an object of
grid A — a case, a person, a volunteer task… — then asks as each outsider: a resident of grid B,
the grid worker of grid B, the staff of a property company that manages nothing in grid A, the
staff of another community, a resident of another community. New apps are covered
automatically: a pattern this test cannot fill FAILS with a message naming the map to extend.

What counts as a correct refusal: the answer an outsider gets for the grid-A object must be the
same as for an id that does not exist (nothing learnt about existence), and it must be

- 404 — the rule, for every scoped lookup;
- 405 — the method is not served at all (before any lookup);
- 403 — only where the route refuses a whole role before looking at any object, and only for the
  (route, persona) pairs in ROLE_REFUSALS below, each with its reason;
- the admin's own refusal: 403 without the model permission, or Django's redirect to the admin
  index for an object outside the admin's (scoped) queryset.

Routes that are public by design or not about scoped objects are listed in NOT_SCOPED, each with
its reason; the test checks that list against the URL conf so that it cannot go stale.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from shequ.accounts.models import Assignment, User
from shequ.accounts.second_factor import CHECKED
from shequ.accounts.services import api_token_issue
from shequ.core.roles import Role
from shequ.geo.models import Building, Region
from tests.support.cases import report, upload
from tests.support.factories import fund_pool, give_points, make_person, make_resident_user, tag

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]

MISSING_ID = 987_654_321

# --- the URL conf, walked -------------------------------------------------------------------


@dataclass
class Route:
    route: str  # the pattern as written, prefixes joined ("cases/<int:pk>/")
    pattern: URLPattern
    params: list[str] = field(default_factory=list)


PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>|\(\?P<(?P<rname>[^>]+)>")


def walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            names = [m.group("name") or m.group("rname") for m in PARAM.finditer(route)]
            if names:
                yield Route(route, entry, names)


def all_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


# --- routes that are not about scoped objects -------------------------------------------------

NOT_SCOPED = {
    # Open311 GeoReport v2 is public by design (the spec's reads need no key); it shows the
    # public fields only (tests/test_open311.py checks those).
    r"^open311/": "Open311 is public by design (public fields only)",
    # The admin's app index and catch-all take an app label or a path, not an object.
    r"^admin/\^\(\?P<app_label>": "admin app index (an app label, not an object)",
    r"^admin/\(\?P<url>": "admin catch-all (no object)",
}


def not_scoped_reason(route: str) -> str | None:
    for pattern, reason in NOT_SCOPED.items():
        if re.search(pattern, route):
            return reason
    return None


# --- the outsiders ----------------------------------------------------------------------------

OUTSIDERS = ("resident_b", "grid_b", "property_other", "community_other", "resident_far")
# Community-wide objects (a 爱心超市's items) are shared by the whole community: grid B's people
# may see them. For those only the people from outside the community are outsiders.
COMMUNITY_OUTSIDERS = ("property_other", "community_other", "resident_far")


def _staff(username: str, role: str, **scope) -> User:
    user = User.objects.create_user(username=username, password="x", full_name=username)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    Assignment.objects.create(user=user, role=role, **scope)
    return user


@pytest.fixture
def outsiders(world, persona) -> dict[str, User]:
    from shequ.property.models import PropertyCompany

    other_community = (
        Region.objects.filter(level="community", code__startswith=world["township"])
        .exclude(code=world["community"])
        .order_by("code")
        .first()
    )
    far_grid = (
        Region.objects.filter(level="grid", code__startswith=other_community.code)
        .order_by("code")
        .first()
    )
    company = PropertyCompany.objects.create(name="别处物业服务有限公司", region_code=far_grid.code)
    resident_b, _ = make_resident_user("outsider_resident_b", world["grid_b"], name="吴乙")
    resident_far, _ = make_resident_user("outsider_resident_far", far_grid.code, name="郑远")
    return {
        "resident_b": resident_b,
        "grid_b": persona("grid2"),
        "property_other": _staff(
            "outsider_property", Role.PROPERTY_STAFF, property_company=company
        ),
        "community_other": _staff(
            "outsider_community", Role.COMMUNITY_STAFF, region=other_community
        ),
        "resident_far": resident_far,
    }


def page_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[CHECKED] = "password"
    session.save()
    return client


def api_client(user: User) -> Client:
    _token, plaintext = api_token_issue(user=user, name="url-scope")
    return Client(headers={"Authorization": f"Bearer {plaintext}"})


# --- grid A's objects -------------------------------------------------------------------------


class GridA:
    """Objects of grid A (and of its community, for community-wide ones), made on demand."""

    def __init__(self, world, persona):
        self.world, self.persona = world, persona
        self._cache: dict = {}

    def _once(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def resident(self):
        def make():
            return make_resident_user("grid_a_owner", self.world["grid_a"], name="刘甲")

        return self._once("resident", make)

    def case(self):
        # 养老服务 (a sensitive group): only grid A's own residents may follow it, so the
        # community's other residents are outsiders too (a public case they may follow).
        return self._once(
            "case", lambda: report(self.resident[0], "0902", grid=self.world["grid_a"])
        )

    def case_photo(self):
        from shequ.cases.models import CasePhoto

        return self._once("photo", lambda: CasePhoto.objects.filter(case=self.case()).first())

    def person(self):
        return self._once("person", lambda: make_person(grid_code=self.world["grid_a"]))

    def person_tag(self):
        return self._once("tag", lambda: tag(self.person(), "dibao"))

    def tag_synonym(self):
        from shequ.people.models import TagSynonym, TagType

        return self._once(
            "synonym",
            lambda: TagSynonym.objects.create(
                tag_type=TagType.objects.get(code="dibao"), text="低保对象户"
            ),
        )

    def house(self):
        from shequ.geo.models import House

        return self._once(
            "house",
            lambda: House.objects.filter(region_code=self.world["grid_a"]).order_by("code").first(),
        )

    def household(self):
        from shequ.people.models import Household

        return self._once(
            "household",
            lambda: Household.objects.create(
                number="HA-URLSCOPE-1", region_code=self.world["grid_a"]
            ),
        )

    def building(self):
        return self._once(
            "building",
            lambda: (
                Building.objects.filter(region_code=self.world["grid_a"]).order_by("code").first()
            ),
        )

    def estate(self):
        from shequ.geo.models import Estate

        def find():
            estate = Estate.objects.filter(region_code=self.world["grid_a"]).first()
            assert estate is not None, "the demo world has an estate in grid A"
            return estate

        return self._once("estate", find)

    def import_job(self):
        from shequ.people.models import ImportJob

        return self._once(
            "import_job",
            lambda: ImportJob.objects.create(
                created_by=self.persona("community"),
                region_code=self.world["community"],
                default_grid_code=self.world["grid_a"],
                file_name="台账.xlsx",
            ),
        )

    def pool(self):
        return self._once("pool", lambda: fund_pool(self.world))

    def task(self):
        from shequ.points.choices import TaskKind
        from shequ.points.services import task_create

        def make():
            self.pool()
            start = timezone.now() - dt.timedelta(minutes=30)
            return task_create(
                actor=self.persona("community"),
                kind=TaskKind.VOLUNTEER,
                title="楼道清理",
                category="environment",
                region_code=self.world["grid_a"],
                starts_at=start,
                ends_at=start + dt.timedelta(hours=3),
                quota=3,
                points_per_person=10,
                hours_per_person=2,
                publish=True,
            )

        return self._once("task", make)

    def claim(self):
        from shequ.points.services import task_claim

        return self._once("claim", lambda: task_claim(actor=self.resident[0], task=self.task()))

    def store(self):
        from shequ.points.models import Store

        return self._once(
            "store",
            lambda: Store.objects.create(
                name="丹凤社区爱心超市", region_code=self.world["community"]
            ),
        )

    def item(self):
        from shequ.points.services import store_item_create

        return self._once(
            "item",
            lambda: store_item_create(
                actor=self.persona("community"),
                store=self.store(),
                name="大米",
                price=30,
                monthly_limit=2,
                initial_stock=10,
                photo=upload("rice.jpg"),
            ),
        )

    def order(self):
        from shequ.points.services import order_redeem

        def make():
            give_points(self.resident[1], 100)
            return order_redeem(actor=self.resident[0], item=self.item())

        return self._once("order", make)

    def merchant(self):
        from shequ.points.models import Merchant

        return self._once(
            "merchant",
            lambda: Merchant.objects.create(name="便民超市", region_code=self.world["grid_a"]),
        )

    def notification(self):
        from shequ.notifications.models import Notification

        return self._once(
            "notification",
            lambda: Notification.objects.create(
                recipient=self.resident[0], kind="test", title="您的诉求已受理"
            ),
        )

    def warning(self):
        from shequ.analytics.models import EarlyWarning, WarningKind

        today = timezone.localdate()
        kind = next(k for k in WarningKind.values if k != "spike")
        return self._once(
            "warning",
            lambda: EarlyWarning.objects.create(
                kind=kind,
                key="url-scope-1",
                region_code=self.world["grid_a"],
                period_start=today - dt.timedelta(days=7),
                period_end=today,
                count=9,
            ),
        )

    def queued_task(self):
        from shequ.queue.models import QueuedTask

        return self._once(
            "queued",
            lambda: QueuedTask.objects.create(
                id="urlscope0000000000000000000000000"[:32],
                task_path="shequ.cases.tasks.sweep",
                status="FAILED",
            ),
        )


# How to fill each route's parameters with grid A's objects: route → (kwargs, outsiders).
# `kwargs` maps the objects to the URL's parameters; non-id parameters get a valid value.
G, C = OUTSIDERS, COMMUNITY_OUTSIDERS
# Volunteer tasks are open to the residents of the task's community (points.selectors.
# visible_task): for a resident of grid B they are not outside; for everyone else they are.
T = tuple(who for who in OUTSIDERS if who != "resident_b")
ROUTES = {
    # cases
    "cases/<int:pk>/": (lambda a: {"pk": a.case().pk}, G),
    "cases/<int:pk>/act/<str:action>/": (lambda a: {"pk": a.case().pk, "action": "register"}, G),
    "cases/<int:pk>/follow/": (lambda a: {"pk": a.case().pk}, G),
    "cases/<int:pk>/contact/": (lambda a: {"pk": a.case().pk}, G),
    "cases/<int:pk>/description/": (lambda a: {"pk": a.case().pk}, G),
    "cases/photos/<int:pk>/": (lambda a: {"pk": a.case_photo().pk}, G),
    "cases/photos/<int:pk>/thumb/": (lambda a: {"pk": a.case_photo().pk}, G),
    "api/v1/cases/<int:case_id>": (lambda a: {"case_id": a.case().pk}, G),
    "api/v1/cases/<int:case_id>/transitions": (lambda a: {"case_id": a.case().pk}, G),
    "api/v1/cases/<int:case_id>/follow": (lambda a: {"case_id": a.case().pk}, G),
    "api/v1/cases/<int:case_id>/description/reveal": (lambda a: {"case_id": a.case().pk}, G),
    "api/v1/cases/<int:case_id>/photos/<int:photo_id>": (
        lambda a: {"case_id": a.case().pk, "photo_id": a.case_photo().pk},
        G,
    ),
    # people
    "people/<int:pk>/": (lambda a: {"pk": a.person().pk}, G),
    "people/<int:pk>/edit/": (lambda a: {"pk": a.person().pk}, G),
    "people/<int:pk>/move/": (lambda a: {"pk": a.person().pk}, G),
    "people/<int:pk>/reveal/": (lambda a: {"pk": a.person().pk}, G),
    "people/<int:pk>/tags/": (lambda a: {"pk": a.person().pk}, G),
    "people/<int:pk>/tags/<int:tag_id>/end/": (
        lambda a: {"pk": a.person().pk, "tag_id": a.person_tag().pk},
        G,
    ),
    "people/<int:pk>/household/": (lambda a: {"pk": a.person().pk}, G),
    # the city-wide tag vocabulary: only city operators manage it
    "people/tags/synonyms/<int:pk>/delete/": (lambda a: {"pk": a.tag_synonym().pk}, G),
    "people/buildings/<int:pk>/": (lambda a: {"pk": a.building().pk}, G),
    "people/households/<int:pk>/": (lambda a: {"pk": a.household().pk}, G),
    "people/import/<int:pk>/": (lambda a: {"pk": a.import_job().pk}, G),
    "people/import/<int:pk>/confirm/": (lambda a: {"pk": a.import_job().pk}, G),
    "people/import/<int:pk>/report.xlsx": (lambda a: {"pk": a.import_job().pk}, G),
    "api/v1/people/<person_id>": (lambda a: {"person_id": a.person().pk}, G),
    "api/v1/people/<person_id>/reveal": (lambda a: {"person_id": a.person().pk}, G),
    "api/v1/people/<person_id>/move": (lambda a: {"person_id": a.person().pk}, G),
    # geo
    "regions/<str:code>/": (lambda a: {"code": a.world["grid_a"]}, G),
    "geo/buildings/<int:pk>/": (lambda a: {"pk": a.building().pk}, G),
    "geo/buildings/<int:pk>/edit/": (lambda a: {"pk": a.building().pk}, G),
    "geo/buildings/<int:pk>/houses/new/": (lambda a: {"pk": a.building().pk}, G),
    "geo/houses/<int:pk>/edit/": (lambda a: {"pk": a.house().pk}, G),
    "geo/estates/<int:pk>/edit/": (lambda a: {"pk": a.estate().pk}, G),
    "geo/grids/<str:code>/buildings/new/": (lambda a: {"code": a.world["grid_a"]}, G),
    "geo/grids/<str:code>/estates/new/": (lambda a: {"code": a.world["grid_a"]}, G),
    # points
    "points/tasks/<int:pk>/": (lambda a: {"pk": a.task().pk}, T),
    "points/tasks/<int:pk>/claim/": (lambda a: {"pk": a.task().pk}, T),
    "points/tasks/<int:pk>/withdraw/": (lambda a: {"pk": a.task().pk}, T),
    "points/tasks/<int:pk>/check/": (lambda a: {"pk": a.task().pk}, T),
    "points/tasks/<int:pk>/codes/": (lambda a: {"pk": a.task().pk}, G),
    "points/claims/<int:pk>/confirm/": (lambda a: {"pk": a.claim().pk}, G),
    "points/store/items/<int:pk>/redeem/": (lambda a: {"pk": a.item().pk}, C),
    "points/store/items/<int:pk>/photo/": (lambda a: {"pk": a.item().pk}, C),
    "points/orders/<int:pk>/cancel/": (lambda a: {"pk": a.order().pk}, G),
    "points/manage/tasks/<int:pk>/": (lambda a: {"pk": a.task().pk}, G),
    "points/manage/tasks/<int:pk>/<str:action>/": (
        lambda a: {"pk": a.task().pk, "action": "complete"},
        G,
    ),
    "points/manage/claims/<int:pk>/honour/": (lambda a: {"pk": a.claim().pk}, G),
    "points/manage/people/<int:pk>/certificate/": (lambda a: {"pk": a.resident[1].pk}, G),
    "points/manage/store/items/<int:pk>/stock-in/": (lambda a: {"pk": a.item().pk}, G),
    "points/manage/store/items/<int:pk>/toggle/": (lambda a: {"pk": a.item().pk}, G),
    "points/manage/orders/<int:pk>/pickup/": (lambda a: {"pk": a.order().pk}, G),
    "points/manage/orders/<int:pk>/cancel/": (lambda a: {"pk": a.order().pk}, G),
    "points/manage/merchants/<int:pk>/settle/": (lambda a: {"pk": a.merchant().pk}, G),
    "api/v1/points/tasks/<task_id>": (lambda a: {"task_id": a.task().pk}, T),
    "api/v1/points/tasks/<task_id>/claim": (lambda a: {"task_id": a.task().pk}, T),
    "api/v1/points/tasks/<task_id>/check": (lambda a: {"task_id": a.task().pk}, T),
    "api/v1/points/store/items/<item_id>/redeem": (lambda a: {"item_id": a.item().pk}, C),
    # notifications (the recipient's own)
    "notifications/<int:pk>/read/": (lambda a: {"pk": a.notification().pk}, G),
    "api/v1/notifications/<int:notification_id>/read": (
        lambda a: {"notification_id": a.notification().pk},
        G,
    ),
    # analytics
    "analytics/warnings/<int:pk>/": (lambda a: {"pk": a.warning().pk}, G),
    "analytics/warnings/<int:pk>/acknowledge/": (lambda a: {"pk": a.warning().pk}, G),
    "api/v1/analytics/warnings/<warning_id>/acknowledge": (
        lambda a: {"warning_id": a.warning().pk},
        G,
    ),
    # operations (operators only; the task belongs to nobody's region)
    "ops/tasks/<str:result_id>/retry/": (lambda a: {"result_id": a.queued_task().pk}, G),
    "admin/accounts/user/<id>/password/": (lambda a: {"id": a.resident[0].pk}, G),
    "admin/r/<path:content_type_id>/<path:object_id>/": (
        lambda a: {"content_type_id": _content_type_id(a.case()), "object_id": a.case().pk},
        G,
    ),
}

# JSON bodies for API routes whose body is validated before the lookup (so that the request
# reaches the lookup; a 400 for a bad body would tell nothing about scope).
BODIES = {
    "api/v1/people/<person_id>/reveal": lambda a: {"field": "mobile", "reason": "核实身份"},
    "api/v1/people/<person_id>/move": lambda a: {"house_id": a.house().pk},
    "api/v1/points/tasks/<task_id>/check": lambda a: {"code": "123456"},
    "api/v1/cases/<int:case_id>/transitions": lambda a: {"action": "register"},
    "api/v1/cases/<int:case_id>/description/reveal": lambda a: {"reason": "回访核实"},
}

# 403 is a correct refusal only where the route turns a whole role away before it looks at any
# object (so the id tells nothing — checked: the missing id gets the same 403). Keep this small:
# route → the personas it may refuse with 403, with the reason. Today every page and API route
# answers outsiders 404, so it is empty.
ROLE_REFUSALS: dict[str, set[str]] = {}


def _content_type_id(obj) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


# --- the admin: every registered model --------------------------------------------------------

ADMIN_ROUTE = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/<path:object_id>/")


def admin_object(a: GridA, model):
    """An object of `model` for the admin's change pages: grid A's when the model is scoped."""
    makers = {
        "cases.case": a.case,
        "people.person": a.person,
        "people.household": a.household,
        "points.store": a.store,
        "points.merchant": a.merchant,
        "notifications.notification": a.notification,
        "queue.queuedtask": a.queued_task,
        "accounts.user": lambda: a.resident[0],
    }
    label = model._meta.label_lower
    if label in makers:
        return makers[label]()
    manager = model._default_manager
    scope_field = getattr(model, "admin_scope_field", None)
    found = (
        manager.filter(**{f"{scope_field}__startswith": a.world["grid_a"]}).first()
        if scope_field
        else manager.order_by("pk").first()
    )
    if found is None and label in EMPTY_MODEL_MAKERS:
        found = EMPTY_MODEL_MAKERS[label](a)
    return found


def _axes_row(model_name: str):
    from django.apps import apps

    model = apps.get_model("axes", model_name)
    fields = {"username": "someone", "ip_address": "127.0.0.1", "user_agent": "t"}
    fields |= {"http_accept": "*/*", "path_info": "/accounts/login/"}
    if model_name == "AccessAttempt":
        fields |= {"get_data": "", "post_data": "", "failures_since_start": 1}
    return model.objects.create(**fields)


def _audit_event(a):
    from shequ.core.audit import audit_record

    return audit_record(
        actor=a.persona("community"), action="people.reveal", region_code=a.world["grid_a"]
    )


def _api_token(a):
    return api_token_issue(user=a.resident[0], name="phone")[0]


def _open311_key(a):
    from shequ.open311.models import ApiKey

    return ApiKey.objects.create(name="街道 App", prefix="abcd1234", key_hash="0" * 64)


# Rows for admin models that the base world leaves empty (config, logs).
def _create(label: str, **fields):
    from django.apps import apps

    return apps.get_model(label).objects.create(**fields)


EMPTY_MODEL_MAKERS = {
    "auth.group": lambda a: _create("auth.Group", name="url-scope"),
    "axes.accessattempt": lambda a: _axes_row("AccessAttempt"),
    "axes.accesslog": lambda a: _axes_row("AccessLog"),
    "axes.accessfailurelog": lambda a: _axes_row("AccessFailureLog"),
    "core.auditevent": _audit_event,
    "accounts.apitoken": _api_token,
    "points.pointsrule": lambda a: _create("points.PointsRule", region_code=a.world["grid_a"]),
    "core.calendarday": lambda a: _create(
        "core.CalendarDay", date=dt.date(2031, 1, 2), is_workday=True
    ),
    "open311.apikey": _open311_key,
    "queue.periodicrun": lambda a: _create("queue.PeriodicRun", name="sweep", slot=1),
}


def admin_model(app: str, model_name: str):
    for model in admin.site._registry:
        if model._meta.app_label == app and model._meta.model_name == model_name:
            return model
    return None


# --- the test ---------------------------------------------------------------------------------


def kwargs_for(route: Route, a: GridA) -> tuple[dict, tuple] | None:
    if route.route in ROUTES:
        make, who = ROUTES[route.route]
        return make(a), who
    match = ADMIN_ROUTE.match(route.route)
    if match:
        model = admin_model(match["app"], match["model"])
        obj = admin_object(a, model) if model else None
        if obj is None:
            pytest.fail(
                f"No {match['app']}.{match['model']} object to open {route.route}: add a maker "
                "to admin_object() in tests/test_url_scope.py."
            )
        return {"object_id": obj.pk}, OUTSIDERS
    return None


def missing_kwargs(kwargs: dict) -> dict:
    """The same kwargs with every object id replaced by one that does not exist."""
    result = {}
    for name, value in kwargs.items():
        if name in ("action", "content_type_id"):
            result[name] = value
        elif name in ("code",):
            result[name] = "321181999999999"
        elif name == "result_id":
            result[name] = "nosuchtask000000000000000000000"
        else:
            result[name] = MISSING_ID
    return result


def fill(route: Route, kwargs: dict) -> str:
    """The URL of `route` with its parameters substituted (exact for these patterns)."""
    text = route.route
    for param, value in kwargs.items():
        text = re.sub(rf"<(?:[^>:]+:)?{param}>", str(value), text)
    assert "<" not in text, text
    return "/" + text


def answer(client: Client, method: str, url: str, body: dict | None = None):
    if method == "GET":
        return client.get(url)
    if url.startswith("/api/"):
        return client.post(url, body or {}, content_type="application/json")
    return client.post(url, body or {})


def _normalised(location: str, ids) -> str:
    for value in ids:
        location = re.sub(rf"(?<=/){value}(?=/)", "ID", location)
    return location


def scoped_admin(route: str) -> bool:
    """Does the admin page belong to a model whose admin is limited to the user's scope?"""
    from shequ.core.admin import ScopedAdminMixin

    match = ADMIN_ROUTE.match(route)
    model = admin_model(match["app"], match["model"]) if match else None
    return model is not None and isinstance(admin.site._registry[model], ScopedAdminMixin)


def acceptable(route: Route, who: str, got, missing, ids) -> str | None:
    """None when `got` is a correct refusal (see the module docstring), else why not."""
    admin_page = route.route.startswith("admin/")
    if admin_page and not scoped_admin(route.route) and got.status_code in (302, 403):
        # Config and log rows belong to no region (categories, API keys, login attempts…):
        # Django's admin answers 403 for an existing row and redirects for a missing one to
        # staff without the model permission. Their ids are not region data.
        return None
    if got.status_code != missing.status_code:
        return f"{got.status_code} for grid A's object but {missing.status_code} for a missing id"
    if got.status_code in (404, 405):
        return None
    if got.status_code == 403 and (admin_page or who in ROLE_REFUSALS.get(route.route, set())):
        return None
    if (
        admin_page
        and got.status_code == 302
        and _normalised(got["Location"], ids) == _normalised(missing["Location"], [MISSING_ID])
    ):
        return None  # the admin's login page (residents) or its "does not exist" redirect
    return f"answered {got.status_code} (expected 404)"


def test_every_url_with_an_object_id_is_scoped(world, persona, outsiders):
    a = GridA(world, persona)
    for make in (a.case_photo, a.person_tag, a.household, a.import_job, a.claim, a.order):
        make()  # every object exists before the walk (admin pages come first)
    for make in (a.merchant, a.notification, a.warning, a.queued_task, a.building):
        make()
    clients = {}
    problems, unknown = [], []
    checked = 0
    for route in all_routes():
        if not_scoped_reason(route.route):
            continue
        filled = kwargs_for(route, a)
        if filled is None:
            unknown.append(route.route)
            continue
        kwargs, who_all = filled
        url, missing_url = fill(route, kwargs), fill(route, missing_kwargs(kwargs))
        ids = [v for v in kwargs.values() if isinstance(v, int)]
        body = BODIES[route.route](a) if route.route in BODIES else None
        for who in who_all:
            kind = "api" if url.startswith("/api/") else "page"
            key = (who, kind)
            if key not in clients:
                maker = api_client if kind == "api" else page_client
                clients[key] = maker(outsiders[who])
            client = clients[key]
            # The admin's POST looks the object up exactly as its GET does: GET is enough there.
            for method in ("GET",) if route.route.startswith("admin/") else ("GET", "POST"):
                got = answer(client, method, url, body)
                missing = answer(client, method, missing_url, body)
                checked += 1
                why = acceptable(route, who, got, missing, ids)
                if why:
                    problems.append(f"{method} {url} as {who}: {why}")
    assert not unknown, (
        "These URL patterns take a parameter this test does not know how to fill. Add each to "
        "ROUTES in tests/test_url_scope.py (an object of grid A and who must not see it), or to "
        "NOT_SCOPED with the reason:\n  " + "\n  ".join(unknown)
    )
    assert not problems, "Objects of grid A reachable from outside:\n  " + "\n  ".join(problems)
    assert checked > 200


def test_the_maps_name_only_existing_routes():
    routes = {r.route for r in all_routes()}
    stale = [r for r in ROUTES if r not in routes]
    stale += [p for p in NOT_SCOPED if not any(re.search(p, r) for r in routes)]
    stale += [r for r in ROLE_REFUSALS if r not in routes]
    stale += [r for r in BODIES if r not in routes]
    assert not stale, f"Remove these from tests/test_url_scope.py, they match no URL: {stale}"


def test_an_unknown_pattern_fails_with_a_hint(world, persona):
    from django.urls import path

    route = next(walk([path("widgets/<int:pk>/", lambda request, pk: None, name="w")]))
    assert kwargs_for(route, GridA(world, persona)) is None  # → listed as unknown, test fails
