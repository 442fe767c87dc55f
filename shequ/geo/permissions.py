from shequ.core.roles import Role

_territory_edit = {
    "geo.view_region",
    "geo.view_estate",
    "geo.add_estate",
    "geo.change_estate",
    "geo.view_building",
    "geo.add_building",
    "geo.change_building",
    "geo.view_house",
    "geo.add_house",
    "geo.change_house",
}

GRANTS = {
    Role.GRID_WORKER: {"geo.browse", *_territory_edit},
    Role.COMMUNITY_STAFF: {"geo.browse", *_territory_edit},
    Role.TOWNSHIP_OFFICER: {"geo.browse", *_territory_edit},
    Role.CITY_OPERATOR: {
        "geo.browse",
        *_territory_edit,
        "geo.add_region",
        "geo.change_region",
        "geo.view_functionalzone",
        "geo.change_functionalzone",
        "geo.add_functionalzone",
    },
    Role.AUDITOR: {"geo.browse", "geo.view_region"},
    Role.PROPERTY_STAFF: {"geo.view_estate", "geo.view_building", "geo.view_house"},
    # The estates and buildings of their own grid on the map (names and positions only).
    Role.RESIDENT: {"geo.map_own_grid"},
}
