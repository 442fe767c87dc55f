"""State changes of the resident registry. Pages, the API, the importer, the admin and the
demo seeder all call these functions.

Each service checks the actor's permission at the record's region, runs in a transaction,
changes state with compare-and-set where a row already exists, and appends an audit row (with
masked representations only — never a plaintext ID or phone number).
"""

from shequ.people.services.common import (
    CHANGEABLE,
    PERSON_FIELDS,
    REVEALABLE,
    grid_region,
    id_conflict,
    id_hashes,
    person_by_id_number,
)
from shequ.people.services.imports import import_job_confirm, import_job_create
from shequ.people.services.persons import (
    Residence,
    person_create,
    person_link_user,
    person_reveal,
    person_update,
)
from shequ.people.services.residence import (
    house_link_add,
    household_create,
    household_number_for,
    person_move_in,
    person_move_out,
    person_set_household,
)
from shequ.people.services.tags import (
    person_tag_add,
    person_tag_end,
    tag_synonym_add,
    tag_synonym_remove,
)

__all__ = [
    "CHANGEABLE",
    "PERSON_FIELDS",
    "REVEALABLE",
    "Residence",
    "grid_region",
    "house_link_add",
    "household_create",
    "household_number_for",
    "id_conflict",
    "id_hashes",
    "import_job_confirm",
    "import_job_create",
    "person_by_id_number",
    "person_create",
    "person_link_user",
    "person_move_in",
    "person_move_out",
    "person_reveal",
    "person_set_household",
    "person_tag_add",
    "person_tag_end",
    "person_update",
    "tag_synonym_add",
    "tag_synonym_remove",
]
