"""Who may do what in the closed loop. Scope is applied by the scoping helper; the handler rules
(only the handling unit accepts, only the acceptor handles, nobody verifies their own work) live
in `shequ.cases.access`."""

from shequ.core.roles import Role

_staff_view = {"cases.view", "cases.report"}
_dispatch = {"cases.dispatch", "cases.verify", "cases.visit", "cases.hotline", "cases.indicators"}

GRANTS = {
    Role.RESIDENT: {"cases.report", "cases.view", "cases.rate"},
    Role.GRID_WORKER: {*_staff_view, "cases.handle", "cases.verify"},
    Role.COMMUNITY_STAFF: {*_staff_view, "cases.handle", *_dispatch},
    Role.TOWNSHIP_OFFICER: {*_staff_view, "cases.handle", *_dispatch},
    Role.CITY_OPERATOR: {
        *_staff_view,
        "cases.handle",
        *_dispatch,
        "cases.view_category",
        "cases.change_category",
        "cases.add_category",
        "cases.view_categoryattribute",
        "cases.change_categoryattribute",
        "cases.add_categoryattribute",
        "cases.delete_categoryattribute",
    },
    Role.PROPERTY_STAFF: {"cases.view", "cases.handle"},
    Role.AUDITOR: {"cases.view", "cases.indicators"},
}
