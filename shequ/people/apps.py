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

        from datetime import timedelta

        from shequ.core import schedule
        from shequ.people.tasks import purge_import_previews

        schedule.register(
            "people.purge_import_previews", purge_import_previews, every=timedelta(hours=1)
        )

        from shequ.core.nav import NavEntry, register
        from shequ.people import permissions as P

        register(
            NavEntry("grid", _("实有人口"), "people", perm=P.VIEW, order=30, icon="people"),
            NavEntry("grid", _("人口导入"), "people-import", perm=P.IMPORT, order=35),
            NavEntry("grid", _("我的登记信息"), "my-record", perm=P.VIEW_SELF, order=40),
            NavEntry(
                "grid", _("标签写法"), "tag-vocabulary", perm=P.MANAGE_TAG_VOCABULARY, order=36
            ),
        )
