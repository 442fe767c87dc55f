"""Who may do what with the resident registry.

Sensitive tags (disability, health, minors) need `people.view_sensitive_tags`; the most sensitive
class (社区矫正, 刑满释放 …) needs `people.view_restricted_tags`, which no ordinary role holds — only
a superuser, or a stricter role added later. Residents see and reveal only their own record.
"""

from shequ.core.roles import Role

VIEW = "people.view_person"
ADD = "people.add_person"
CHANGE = "people.change_person"
MOVE = "people.move_person"
MANAGE_TAGS = "people.manage_tags"
VIEW_SENSITIVE_TAGS = "people.view_sensitive_tags"
VIEW_RESTRICTED_TAGS = "people.view_restricted_tags"
REVEAL = "people.reveal_pii"
IMPORT = "people.import_people"
EXPORT = "people.export_people"
EXPORT_UNMASKED = "people.export_unmasked"
VIEW_REVEAL_AUDIT = "people.view_reveal_audit"
VIEW_SELF = "people.view_self"
REVEAL_SELF = "people.reveal_self"
# The city-wide tag vocabulary (the spellings the import recognises): held city-wide.
MANAGE_TAG_VOCABULARY = "people.manage_tag_vocabulary"

_registry_work = {VIEW, ADD, CHANGE, MOVE, MANAGE_TAGS, VIEW_SENSITIVE_TAGS, REVEAL, EXPORT}

GRANTS = {
    Role.GRID_WORKER: set(_registry_work),
    Role.COMMUNITY_STAFF: {*_registry_work, IMPORT, EXPORT_UNMASKED},
    Role.TOWNSHIP_OFFICER: {VIEW, VIEW_SENSITIVE_TAGS, REVEAL, EXPORT, EXPORT_UNMASKED},
    Role.CITY_OPERATOR: {
        VIEW,
        VIEW_SENSITIVE_TAGS,
        REVEAL,
        EXPORT,
        EXPORT_UNMASKED,
        IMPORT,
        MANAGE_TAG_VOCABULARY,
    },
    Role.AUDITOR: {VIEW, VIEW_REVEAL_AUDIT},
    Role.RESIDENT: {VIEW_SELF, REVEAL_SELF},
}
