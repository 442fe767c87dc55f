"""In-app notifications (站内通知). SMS and WeChat deliveries are recorded beside them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One message to one user in the in-app notification centre."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("类型"), max_length=40)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    # A picture shown with the message (a case's after-photo): a permission-checked app URL.
    image_url = models.CharField(_("图片链接"), max_length=300, blank=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notif_recipient_recent"),
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notif_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class DeliveryStatus(models.TextChoices):
    SENT = "sent", _("已发送")
    SKIPPED = "skipped", _("未发送")
    FAILED = "failed", _("发送失败")


class Delivery(models.Model):
    """An attempt to deliver a notification through an external channel (SMS, WeChat)."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("渠道"), max_length=20)
    status = models.CharField(_("状态"), max_length=10, choices=DeliveryStatus.choices)
    detail = models.CharField(_("说明"), max_length=200, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("外部推送记录")
        verbose_name_plural = _("外部推送记录")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_once_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"
