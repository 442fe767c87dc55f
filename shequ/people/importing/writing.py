"""Carrying out an import's plan in one transaction: the estates, buildings and houses it
creates, households, people (created, or updated by ID number), house links (a move ends the
old link and starts a new one) and tags — through the bulk path (`people.bulk`) — then one
audit row. Any failure rolls everything back; the writer also refuses (and so rolls back) if
the database does not do exactly what the plan counted."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core.audit import audit_record
from shequ.geo.models import Building, Estate, House
from shequ.people import bulk
from shequ.people.choices import LinkStatus
from shequ.people.importing.checking import Outcome
from shequ.people.importing.planning import BATCH, Plan
from shequ.people.models import Household, HouseLink, ImportJob, Person, PersonTag


class ImportDrift(Exception):
    """The database changed between planning and writing (another import, an edit)."""


def write_plan(plan: Plan, outcome: Outcome, *, actor, community, job: ImportJob | None) -> None:
    now = timezone.now()
    today = timezone.localdate()
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        Estate.objects.bulk_create(plan.estates, batch_size=BATCH)
        Building.objects.bulk_create(plan.buildings, batch_size=BATCH)
        House.objects.bulk_create(plan.houses, batch_size=BATCH)
        bulk.insert(Household, plan.households)
        if plan.households_moved:
            Household.objects.bulk_update(
                plan.households_moved, ["house", "region_code"], batch_size=BATCH
            )
        bulk.insert(Person, plan.new_people)
        if plan.changed_people:
            updated = Person.objects.bulk_update(
                plan.changed_people, sorted(plan.changed_fields), batch_size=BATCH
            )
            if updated != len(plan.changed_people):
                raise ImportDrift("people")
        ended = 0
        for start in range(0, len(plan.movers), BATCH):
            ended += HouseLink.objects.filter(
                person_id__in=plan.movers[start : start + BATCH], status=LinkStatus.MOVED_IN
            ).update(status=LinkStatus.MOVED_OUT, end_date=today, ended_at=now)
        if ended != plan.summary["house_link"]["updated"]:
            raise ImportDrift("house links")
        bulk.insert(HouseLink, plan.new_links)
        bulk.insert(PersonTag, plan.new_tags)
        audit_record(
            actor=user,
            action="people.import",
            object_type="people.importjob",
            object_id=str(job.pk) if job else "",
            object_repr=(job.file_name if job else _("命令行导入"))[:200],
            region_code=community.code,
            details={
                "rows": outcome.total,
                "created": outcome.created,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
                "warnings": len(outcome.warnings),
                "summary": plan.summary,
            },
        )
    outcome.written = True
