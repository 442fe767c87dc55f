"""Reads of the notification centre."""

from shequ.notifications.models import Notification


def notifications_for(user, *, unread_only: bool = False, limit: int = 50):
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")[:limit]


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
