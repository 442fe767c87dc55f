from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "shequ.cases"
    label = "cases"
    verbose_name = _("诉求与事件")

    def ready(self) -> None:
        from shequ.cases import selectors
        from shequ.cases.sla import sla_sweep
        from shequ.cases.tasks import purge_draft_photos_task, rating_reminder_task
        from shequ.core import audit, crypto, deadlines, metrics, schedule
        from shequ.core.nav import NavEntry, register
        from shequ.core.phones import normalize_phone
        from shequ.core.roles import Role

        register(
            NavEntry(
                "grid",
                _("随手拍"),
                "cases-report",
                perm="cases.report",
                roles=frozenset({Role.RESIDENT, Role.GRID_WORKER}),
                order=1,
                icon="camera",
            ),
            NavEntry(
                "grid",
                _("我的诉求"),
                "cases-mine",
                perm="cases.rate",
                roles=frozenset({Role.RESIDENT}),
                order=2,
                icon="list",
            ),
            NavEntry(
                "grid",
                _("待办案件"),
                "cases-inbox",
                perm="cases.handle",
                roles=frozenset({Role.GRID_WORKER, Role.PROPERTY_STAFF}),
                order=3,
                icon="inbox",
            ),
            NavEntry(
                "grid", _("派遣台"), "cases-board", perm="cases.dispatch", order=4, icon="board"
            ),
            NavEntry(
                "grid", _("核查结案"), "cases-verify", perm="cases.verify", order=5, icon="check"
            ),
            NavEntry(
                "grid",
                _("热线登记"),
                "cases-hotline",
                perm="cases.hotline",
                order=6,
                icon="phone",
            ),
            NavEntry(
                "grid",
                _("回访任务"),
                "cases-visits",
                perm="cases.visit",
                roles=frozenset({Role.COMMUNITY_STAFF}),
                order=7,
                icon="phone",
            ),
        )
        # The step clocks on Case take part in core's one sweep job ("core.deadlines_sweep").
        deadlines.register_participant("cases.sla", sla_sweep)
        schedule.register("cases.rating_reminder", rating_reminder_task, every=timedelta(hours=1))
        schedule.register("cases.purge_drafts", purge_draft_photos_task, every=timedelta(hours=1))
        crypto.register_encrypted_field(
            "cases.case",
            "contact_phone",
            hash_field="contact_phone_hash",
            normalize=normalize_phone,
        )
        crypto.register_encrypted_field("cases.case", "description_original")  # no lookups
        audit.register_action_labels(
            {
                "cases.reveal_contact_phone": _("查看联系电话"),
                "cases.reveal_description": _("查看问题描述原文"),
                "cases.reveal_description_refused": _("查看问题描述原文被拒绝"),
            }
        )
        metrics.register_gauge(
            "shequ_cases_overdue",
            "Open cases whose current step is past its deadline, by township.",
            selectors.overdue_gauge,
            labels=("township",),
        )
