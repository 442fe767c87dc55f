from shequ.core.roles import Role

# City operators watch the background work of the whole platform (and may retry failures).
GRANTS = {
    Role.CITY_OPERATOR: {"queue.view_queuedtask", "queue.change_queuedtask"},
}
