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

        from shequ.core.audit import register_action_labels
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
        register_action_labels(
            {
                "people.person_create": _("登记居民"),
                "people.person_update": _("修改居民信息"),
                "people.reveal": _("查看完整信息"),
                "people.reveal_refused": _("查看完整信息被拒绝"),
                "people.move_in": _("迁入"),
                "people.move_out": _("迁出"),
                "people.house_link_add": _("添加人房关联"),
                "people.tag_add": _("添加标签"),
                "people.tag_end": _("结束标签"),
                "people.household_create": _("新建户"),
                "people.household_set": _("调整户成员"),
                "people.link_user": _("关联登录账号"),
                "people.import_upload": _("上传导入文件"),
                "people.import": _("Excel 导入居民"),
                "people.import_confirm": _("确认导入（预览后）"),
                "people.tag_synonym_add": _("添加标签写法"),
                "people.tag_synonym_remove": _("删除标签写法"),
                "people.export": _("导出居民名单"),
            }
        )
