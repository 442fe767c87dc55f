"""Reads of the notification centre."""

from django.db.models import QuerySet
from django.http import Http404

from shequ.core.actors import User
from shequ.notifications.models import Notification


def notifications_for(
    user: User, *, unread_only: bool = False, limit: int = 50
) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")[:limit]


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def own_notification_or_404(user: User, pk: int | str) -> Notification:
    """One of the user's own notifications; anyone else's (or none) is a 404."""
    found = Notification.objects.filter(pk=pk, recipient=user).first()
    if found is None:
        raise Http404
    return found
