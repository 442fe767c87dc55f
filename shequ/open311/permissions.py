"""Who manages Open311 application keys (the admin): city operators (and superusers)."""

from shequ.core.roles import Role

GRANTS = {
    Role.CITY_OPERATOR: {
        "open311.view_apikey",
        "open311.add_apikey",
        "open311.change_apikey",
    },
}
