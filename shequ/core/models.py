"""Shared kernel tables: the audit log, idempotency records, cache version stamps."""

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an append-only row."""


class AppendOnlyQuerySet(models.QuerySet):
    """No bulk update or delete: rows of these tables are written once."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")


class AppendOnlyModel(models.Model):
    """Rows written once: saving an existing row or deleting one raises AppendOnlyError.

    The ORM guard; each table also gets database triggers in its app's migrations."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


class AuditQuerySet(AppendOnlyQuerySet):
    def purge_before(self, cutoff) -> int:
        """Retention: delete rows older than `cutoff` (the only deletion path)."""
        return models.QuerySet.delete(self.filter(at__lt=cutoff))[0]


class AuditEvent(AppendOnlyModel):
    """One audited action: who did what to which object, when, why and from where.

    Append-only: no update or delete path in the ORM; database triggers refuse UPDATE (and, on
    PostgreSQL, DELETE of rows younger than the retention period).
    """

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    region_code = models.CharField(_("区域代码"), max_length=15, blank=True, db_index=True)
    reason = models.TextField(_("理由"), blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    details = models.JSONField(_("详情"), default=dict, blank=True)

    # ClassVar: it overrides AppendOnlyModel's manager (the plugin types it from the queryset).
    objects: ClassVar = AuditQuerySet.as_manager()

    # Not columns: what `audit_search` sets on each row it returns for the audit page.
    label: str
    group: str
    type_label: str
    detail_items: list[tuple[str, str]]
    # and what the people detail page sets on a reveal's row: the revealed field's name.
    field_label: "StrOrPromise"

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"


class IdempotencyRecord(models.Model):
    """A creating request seen with an Idempotency-Key, and the response it got."""

    client = models.CharField(max_length=64)  # hash of the caller's credential
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)  # sha256 of the request body
    status_code = models.PositiveSmallIntegerField(default=0)  # 0 = in progress
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class VersionStamp(models.Model):
    """A named counter bumped when cached data (e.g. the grid index) must be rebuilt."""

    name = models.CharField(max_length=64, primary_key=True)
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"
