from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "shequ.people"
    label = "people"
    verbose_name = _("实有人口")

    def ready(self) -> None:
        from shequ.core.crypto import register_encrypted_field
        from shequ.core.idnumbers import normalize_id_number
        from shequ.core.phones import normalize_mobile, normalize_phone

        register_encrypted_field(
            "people.person", "id_number", hash_field="id_number_hash", normalize=normalize_id_number
        )
        register_encrypted_field(
            "people.person", "mobile", hash_field="mobile_hash", normalize=normalize_mobile
        )
        register_encrypted_field(
            "people.person", "landline", hash_field="landline_hash", normalize=normalize_phone
        )
        register_encrypted_field(
            "people.person",
            "emergency_contact_phone",
            hash_field="emergency_contact_phone_hash",
            normalize=normalize_phone,
        )
        register_encrypted_field("people.importjob", "payload")
