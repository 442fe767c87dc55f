from shequ.core.roles import Role

GRANTS = {
    Role.AUDITOR: {"core.view_auditevent", "core.search_audit"},
}
