"""Configuration records (categories and their time limits, the working calendar, regions and
estates, points rules, stores, merchants, property companies): the one audited way to save or
delete them when no domain service owns the change.

Used by the admin (`shequ.core.admin.ServiceAdminMixin`); a domain app that grows a real rule
for one of these records (a recomputation, a notification) gives it its own service and its
admin calls that instead. Each write is one transaction with its audit row
(`config.created` / `config.changed` / `config.deleted`), naming the model and the changed
fields — never their values, which may be personal.
"""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest

from shequ.core.actors import AnyUser
from shequ.core.audit import audit_record


def _details(obj: Model, fields: Iterable[str] = ()) -> dict[str, Any]:
    return {"model": obj._meta.label_lower, "fields": sorted(fields)}


@transaction.atomic
def config_record_save[M: Model](
    *,
    obj: M,
    actor: AnyUser,
    changed_fields: Iterable[str] = (),
    request: HttpRequest | None = None,
) -> M:
    """Create or change a configuration record, audited in the same transaction."""
    created = obj._state.adding
    obj.save()
    audit_record(
        actor=actor,
        action="config.created" if created else "config.changed",
        obj=obj,
        request=request,
        details=_details(obj, changed_fields),
    )
    return obj


@transaction.atomic
def config_record_delete(*, obj: Model, actor: AnyUser, request: HttpRequest | None = None) -> None:
    """Delete a configuration record; the audit row keeps what it was (its label and id)."""
    audit_record(
        actor=actor, action="config.deleted", obj=obj, request=request, details=_details(obj)
    )
    obj.delete()
