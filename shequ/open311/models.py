"""Open311 application keys: one per client application (a city CRM, a FixMyStreet instance…).

Only a SHA-256 hash of a key is stored; the plaintext is shown once when the key is created.
Each key has its own rate limit (requests per minute), can be revoked, and may or may not post
updates (`servicerequestupdates`).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_RATE_LIMIT = 60  # requests per minute


class ApiKey(models.Model):
    name = models.CharField(_("应用名称"), max_length=100, unique=True)
    prefix = models.CharField(_("密钥前缀"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    rate_limit = models.PositiveIntegerField(
        _("每分钟请求上限"), default=DEFAULT_RATE_LIMIT, help_text=_("该密钥每分钟最多可调用的次数")
    )
    can_post_updates = models.BooleanField(
        _("可提交处理进展"), default=False, help_text=_("允许 POST servicerequestupdates")
    )
    contact = models.CharField(_("联系人/单位"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 应用密钥")
        verbose_name_plural = _("Open311 应用密钥")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(rate_limit__gt=0), name="open311_key_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def client(self) -> str:
        """The identity written into cases this key reports (Case.client)."""
        return f"open311:{self.name}"
