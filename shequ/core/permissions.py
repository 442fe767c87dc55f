from shequ.core.roles import Role

GRANTS = {
    Role.AUDITOR: {"core.view_auditevent", "core.search_audit"},
    # The working calendar (调休, local holidays): the city keeps it.
    Role.CITY_OPERATOR: {
        "core.view_calendarday",
        "core.change_calendarday",
        "core.add_calendarday",
        "core.delete_calendarday",
    },
}
