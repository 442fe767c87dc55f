from shequ.core.roles import Role

GRANTS = {
    Role.TOWNSHIP_OFFICER: {"property.view_propertycompany"},
    Role.CITY_OPERATOR: {
        "property.view_propertycompany",
        "property.add_propertycompany",
        "property.change_propertycompany",
    },
}
