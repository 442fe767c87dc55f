"""Per-case access rules on top of the scoping helper.

Visibility: staff see cases whose grid lies in their scope, property staff the cases routed to
their company, residents the cases they reported (followers get a limited view).
Following (我也遇到): staff follow only what they see; a resident follows the public cases of their
community and any case of their own grid. A follower's view is the public one (Open311's fields;
sensitive groups without location), so following never shows more than anyone may see. Handling: only
people of the handling unit accept; only the acceptor handles, returns or asks for more time.
Verification: anyone with `cases.verify` in scope — except the case's handler.
"""

from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from shequ.cases.models import Case, CaseFollow, Category
from shequ.cases.workflow import HandlerType, Status
from shequ.core.errors import PermissionDeniedError
from shequ.core.roles import Role, role_grants
from shequ.core.scoping import (
    EVERYTHING,
    get_scoped_or_404,
    has_perm,
    prefix_q,
    resident_codes,
    scope_q,
    scoped,
    user_assignments,
)

HANDLER_ROLE: dict[str, Role] = {
    HandlerType.GRID: Role.GRID_WORKER,
    HandlerType.COMMUNITY: Role.COMMUNITY_STAFF,
    HandlerType.TOWNSHIP: Role.TOWNSHIP_OFFICER,
    HandlerType.CITY: Role.CITY_OPERATOR,
    HandlerType.PROPERTY: Role.PROPERTY_STAFF,
}
LEVEL_ROLE = {
    "grid": Role.GRID_WORKER,
    "property": Role.PROPERTY_STAFF,
    "community": Role.COMMUNITY_STAFF,
    "township": Role.TOWNSHIP_OFFICER,
    "city": Role.CITY_OPERATOR,
}


def visible_cases(user, qs: QuerySet | None = None) -> QuerySet:
    """The cases `user` may open (the one scoping helper, with company and owner rules)."""
    qs = Case.objects.all() if qs is None else qs
    return scoped(qs, user, "cases.view", company_field="handler_company", owner_field="reporter")


def get_case_or_404(user, pk, qs: QuerySet | None = None) -> Case:
    qs = Case.objects.select_related("category", "category__parent") if qs is None else qs
    return get_scoped_or_404(
        qs,
        user,
        "cases.view",
        company_field="handler_company",
        owner_field="reporter",
        pk=pk,
    )


def sensitive_groups() -> set[str]:
    """大类 whose cases concern named households (disputes, livelihood needs): the public sees
    their status only, never their place (the same setting as Open311's private groups)."""
    return set(getattr(settings, "SHEQU_OPEN311_PRIVATE_GROUPS", ("07", "09")))


def is_sensitive(category: Category) -> bool:
    group = category.parent.code if category.parent is not None else category.code
    return group in sensitive_groups()


def followable_cases(user, qs: QuerySet | None = None) -> QuerySet:
    """The cases `user` may follow (我也遇到), before the status rules of the service.

    Staff: the cases they see (their scope, their company's cases). Residents: their own grid's
    cases, and the cases of their community that the public may find with their place (not a
    sensitive group). Nothing else — an id from elsewhere is a 404, as for any lookup."""
    qs = Case.objects.all() if qs is None else qs
    staff = scope_q(user, "cases.view", company_field="handler_company", owner_field="reporter")
    if staff is EVERYTHING:
        return qs
    parts = [staff] if staff is not None else []
    grids = resident_codes(user, "cases.view")
    if grids:
        sensitive = Category.objects.filter(
            Q(code__in=sensitive_groups()) | Q(parent__code__in=sensitive_groups())
        ).values("id")
        for grid in grids:
            parts.append(prefix_q("region_code", grid))
            parts.append(prefix_q("region_code", grid[:12]) & ~Q(category_id__in=sensitive))
    if not parts:
        return qs.none()
    return qs.filter(reduce(or_, parts))


def get_followable_or_404(user, pk, qs: QuerySet | None = None) -> Case:
    try:
        return followable_cases(user, qs).get(pk=pk)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def merge_targets(user, qs: QuerySet | None = None) -> QuerySet:
    """Cases `user` may merge another case into: those in their dispatch scope."""
    qs = Case.objects.all() if qs is None else qs
    return scoped(qs, user, "cases.dispatch")


def find_merge_target(user, value) -> Case | None:
    """The merge target named by its code (or id, for the API) within `merge_targets`."""
    value = str(value or "").strip()
    if not value:
        return None
    qs = merge_targets(user, Case.objects.select_related("category"))
    return qs.filter(code=value).first() or (
        qs.filter(pk=int(value)).first() if value.isdigit() and len(value) < 19 else None
    )


def sees_as_staff(user, case: Case) -> bool:
    """Does the user see the case through a staff scope (full timeline), not as its reporter?"""
    if getattr(user, "is_superuser", False):
        return True
    if has_perm(user, "cases.view", case.region_code):
        return True
    return bool(
        case.handler_company_id and has_perm(user, "cases.view", company_id=case.handler_company_id)
    )


def is_follower(user, case: Case) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and CaseFollow.objects.filter(case=case, user=user).exists()
    )


def in_handler_unit(user, case: Case) -> bool:
    """Does `user` belong to the unit the case is routed to (and may handle cases)?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    role = HANDLER_ROLE.get(case.handler_type)
    for a in user_assignments(user):
        if a.role != role or not role_grants(a.role, "cases.handle"):
            continue
        if case.handler_type == HandlerType.PROPERTY:
            if a.property_company_id and a.property_company_id == case.handler_company_id:
                return True
        elif a.scope_code and case.handler_unit_code.startswith(a.scope_code):
            return True
    return False


def handler_unit_q(user) -> Q | None:
    """Cases routed to any unit `user` belongs to (for inboxes).

    A unit's code is the code of the region its role works at (a grid worker's grid, community
    staff's community…), so this is an equality — the inbox index serves it directly."""
    q = Q()
    matched = False
    for a in user_assignments(user):
        if not role_grants(a.role, "cases.handle"):
            continue
        handler_type = next((t for t, r in HANDLER_ROLE.items() if r == a.role), None)
        if handler_type is None:
            continue
        if handler_type == HandlerType.PROPERTY and a.property_company_id:
            q |= Q(handler_type=handler_type, handler_company_id=a.property_company_id)
            matched = True
        elif a.scope_code:
            q |= Q(handler_type=handler_type, handler_unit_code=a.scope_code)
            matched = True
    return q if matched else None


def deny(message: str, code: str = "forbidden") -> None:
    raise PermissionDeniedError(message, code=code)


def require(user, perm: str, case: Case) -> None:
    if not has_perm(user, perm, case.region_code):
        deny(_("您没有执行此操作的权限。"))


def require_handler_unit(user, case: Case) -> None:
    if not in_handler_unit(user, case):
        deny(_("该案件未派遣给您所在的处置单位。"), "not_handler_unit")


def require_handler(user, case: Case) -> None:
    if user.is_superuser:
        return
    if case.handler_id != user.pk:
        deny(_("只有接单的处置人可以执行此操作。"), "not_handler")


def require_reporter(user, case: Case) -> None:
    if case.reporter_id is None or case.reporter_id != user.pk:
        deny(_("只有上报人可以执行此操作。"), "not_reporter")


def level_recipients_q(level: str, case: Case) -> Q | None:
    """Assignments of the people at a ladder level responsible for the case's place."""
    role = LEVEL_ROLE[level]
    if level == "property":
        if not case.handler_company_id:
            return None
        return Q(role=role, property_company_id=case.handler_company_id)
    length = {"grid": 15, "community": 12, "township": 9, "city": 6}[level]
    return Q(role=role, region__code=case.region_code[:length])


# --- the permission side of each transition (the status side is the table in workflow.py) ---
#
# Checked in this order by every service: the role (403) → the status table (409) → the rules
# about this particular case and person (403). So a grid worker who tries to handle a case they
# have not accepted yet hears "not allowed in status 待接单" (409), and a handler who tries to
# verify their own work hears 403.

ROLE_PERM = {
    "register": "cases.dispatch",
    "void": "cases.dispatch",
    "dispatch": "cases.dispatch",
    "merge": "cases.dispatch",
    "supervise": "cases.dispatch",
    "escalate": "cases.dispatch",
    "approve_extension": "cases.dispatch",
    "accept": "cases.handle",
    "handle": "cases.handle",
    "extend": "cases.handle",
    "return": "cases.handle",
    "verify": "cases.verify",
    "rework": "cases.verify",
    "reopen": "cases.rate",
    "rate": "cases.rate",
    "visit": "cases.visit",
}


def check_role(user, case: Case, action: str) -> None:
    perm = ROLE_PERM[str(action)]
    if perm == "cases.rate":
        allowed = has_perm(user, perm)  # residents hold it everywhere; ownership comes next
    else:
        allowed = has_perm(user, perm, case.region_code) or bool(
            perm == "cases.handle"
            and case.handler_company_id
            and has_perm(user, perm, company_id=case.handler_company_id)
        )
    if not allowed:
        deny(_("您没有执行此操作的权限。"))


def _require_handling_party(user, case: Case) -> None:
    if case.status == Status.ACCEPTED:
        require_handler(user, case)
    else:
        require_handler_unit(user, case)


def _not_own_work(user, case: Case) -> None:
    if user.pk == case.handler_id:
        deny(_("处置人不能核查自己处理的案件，请由其他人员核查。"), "own_work")


def _not_own_extension(user, case: Case) -> None:
    if user.pk == case.handler_id:
        deny(_("不能审批自己的延期申请。"), "own_extension")


RULES = {
    "accept": require_handler_unit,
    "handle": require_handler,
    "extend": _require_handling_party,
    "return": _require_handling_party,
    "verify": _not_own_work,
    "rework": _not_own_work,
    "approve_extension": _not_own_extension,
    "reopen": require_reporter,
    "rate": require_reporter,
}


def check_rules(user, case: Case, action: str) -> None:
    rule = RULES.get(str(action))
    if rule is not None and not user.is_superuser:
        rule(user, case)


def check_action(user, case: Case, action: str) -> None:
    """Raise PermissionDeniedError unless `user` may perform `action` on `case` (any status)."""
    check_role(user, case, action)
    check_rules(user, case, action)


def can_act(user, case: Case, action: str) -> bool:
    try:
        check_action(user, case, action)
    except PermissionDeniedError:
        return False
    return True
