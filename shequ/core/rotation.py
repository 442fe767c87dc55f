"""Key rotation: re-encrypt every encrypted value in the project under the active key and
recompute every keyed hash.

It walks every model of every installed app and every EncryptedTextField/EncryptedBinaryField
on it — registered or not — so nothing is left under an old key; the registry
(`crypto.register_encrypted_field`) says which hash field belongs to which value. Rows already
under the active key are skipped, so an interrupted run can simply be started again. Each batch
is its own transaction; lookups keep working during the run because they try every key.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.core import checks
from django.db import models, transaction
from django.db.models.functions import Cast

from shequ.core import crypto


@dataclass
class FieldPlan:
    model: type[models.Model]
    text_fields: list  # EncryptedTextField instances
    binary_fields: list  # EncryptedBinaryField instances
    hashes: dict[str, str]  # encrypted field name → hash field name


def plans() -> Iterator[FieldPlan]:
    """Every model with encrypted fields, with their registered hash fields."""
    specs = {(s.model, s.field): s for s in crypto.registered_encrypted_fields()}
    for model in apps.get_models():
        fields = [
            f for f in model._meta.concrete_fields if isinstance(f, crypto.ENCRYPTED_FIELD_TYPES)
        ]
        if not fields:
            continue
        label = model._meta.label_lower
        hashes = {}
        for f in fields:
            spec = specs.get((label, f.name))
            if spec and spec.hash_field:
                hashes[f.name] = spec.hash_field
        yield FieldPlan(
            model=model,
            text_fields=[f for f in fields if isinstance(f, crypto.EncryptedTextField)],
            binary_fields=[f for f in fields if isinstance(f, crypto.EncryptedBinaryField)],
            hashes=hashes,
        )


def _stale(token: str | None, active: str) -> bool:
    if not token:
        return False
    return not token.startswith(active + crypto.SEPARATOR)


def rotate(
    *, batch_size: int = 1000, dry_run: bool = False, log: Callable[[str], None] = print
) -> dict[str, int]:
    """Re-encrypt values not under the active key (and their hashes). Returns rows per model."""
    crypto.reset_keyring()
    active = crypto.active_key_id()
    done: dict[str, int] = {}
    for plan in plans():
        label = plan.model._meta.label_lower
        count = 0
        if plan.text_fields:
            count += _rotate_text(plan, active, batch_size, dry_run)
        if plan.binary_fields:
            count += _rotate_binary(plan, batch_size, dry_run)
        done[label] = count
        log(f"  {label}: {count}")
    return done


def _rotate_text(plan: FieldPlan, active: str, batch_size: int, dry_run: bool) -> int:
    manager = plan.model._base_manager
    raw = {f"_raw_{f.name}": Cast(f.name, models.TextField()) for f in plan.text_fields}
    names = list(raw)
    rotated, last = 0, None
    while True:
        qs = manager.order_by("pk").annotate(**raw)
        if last is not None:
            qs = qs.filter(pk__gt=last)
        rows = list(qs.values_list("pk", *names)[:batch_size])
        if not rows:
            return rotated
        last = rows[-1][0]
        updates = []
        for pk, *tokens in rows:
            if not any(_stale(t, active) for t in tokens):
                continue
            obj = plan.model(pk=pk)
            for field, token in zip(plan.text_fields, tokens, strict=True):
                plaintext = crypto.decrypt(token, context=field.context) if token else token
                setattr(obj, field.attname, plaintext)
                if field.name in plan.hashes:
                    hash_name = plan.hashes[field.name]
                    empty = None if plan.model._meta.get_field(hash_name).null else ""
                    value = (
                        crypto.blind_index(plaintext, context=field.context) if plaintext else empty
                    )
                    setattr(obj, plan.hashes[field.name], value)
            updates.append(obj)
        rotated += len(updates)
        if updates and not dry_run:
            fields = [f.name for f in plan.text_fields] + [
                plan.hashes[f.name] for f in plan.text_fields if f.name in plan.hashes
            ]
            with transaction.atomic():
                manager.bulk_update(updates, fields, batch_size=batch_size)


def _rotate_binary(plan: FieldPlan, batch_size: int, dry_run: bool) -> int:
    """Binary values (transient uploads) are few: every non-empty one is re-encrypted."""
    manager = plan.model._base_manager
    names = [f.name for f in plan.binary_fields]
    rotated, last = 0, None
    while True:
        qs = manager.order_by("pk").only("pk", *names)
        if last is not None:
            qs = qs.filter(pk__gt=last)
        rows = list(qs[:batch_size])
        if not rows:
            return rotated
        last = rows[-1].pk
        updates = [r for r in rows if any(getattr(r, n) for n in names)]
        rotated += len(updates)
        if updates and not dry_run:
            with transaction.atomic():
                manager.bulk_update(updates, names, batch_size=batch_size)


def verify() -> dict[str, int]:
    """Rows per model that are NOT under the active key (0 everywhere after a rotation);
    also decrypts every value, so an unreadable one raises DecryptionError."""
    crypto.reset_keyring()
    active = crypto.active_key_id()
    remaining = {}
    for plan in plans():
        stale = 0
        manager = plan.model._base_manager
        if plan.text_fields:
            raw = {f"_raw_{f.name}": Cast(f.name, models.TextField()) for f in plan.text_fields}
            for _pk, *tokens in manager.annotate(**raw).values_list("pk", *raw).iterator(2000):
                stale += any(_stale(t, active) for t in tokens)
        names = [f.name for f in plan.text_fields + plan.binary_fields]
        for _row in manager.only("pk", *names).iterator(2000):
            pass  # from_db_value decrypts every value
        remaining[plan.model._meta.label_lower] = stale
    return remaining


@checks.register(checks.Tags.security)
def check_encrypted_fields_registered(app_configs=None, **kwargs):
    """Every encrypted field is registered (so its hash is kept in step by rotation), and a
    registered hash field exists."""
    errors: list[checks.CheckMessage] = []
    specs = {(s.model, s.field): s for s in crypto.registered_encrypted_fields()}
    for model in apps.get_models():
        label = model._meta.label_lower
        for field in model._meta.concrete_fields:
            if not isinstance(field, crypto.ENCRYPTED_FIELD_TYPES):
                continue
            spec = specs.get((label, field.name))
            if spec is None:
                errors.append(
                    checks.Warning(
                        f"{label}.{field.name} is encrypted but not registered with "
                        "crypto.register_encrypted_field()",
                        hint="Register it (with its hash field and normaliser) in AppConfig.ready().",
                        obj=model,
                        id="shequ.W001",
                    )
                )
            elif spec.hash_field:
                try:
                    model._meta.get_field(spec.hash_field)
                except Exception:
                    errors.append(
                        checks.Error(
                            f"{label}.{spec.hash_field} (hash of {field.name}) does not exist",
                            obj=model,
                            id="shequ.E001",
                        )
                    )
    return errors
