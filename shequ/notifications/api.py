"""Notification centre API: my notifications, mark as read."""

from datetime import datetime

from ninja import Router, Schema

from shequ.notifications.selectors import (
    notifications_for,
    own_notification_or_404,
    unread_count,
)
from shequ.notifications.services import notification_mark_read

API_PREFIX = "/notifications"
router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


class NotificationList(Schema):
    unread: int
    items: list[NotificationOut]


@router.get("", response=NotificationList, summary="我的通知")
def notification_list(request, unread_only: bool = False, limit: int = 50):
    limit = max(1, min(limit, 200))
    return {
        "unread": unread_count(request.user),
        "items": list(notifications_for(request.user, unread_only=unread_only, limit=limit)),
    }


class ReadOut(Schema):
    marked: int


@router.post("/{int:notification_id}/read", response=ReadOut, summary="标记为已读")
def notification_read(request, notification_id: int):
    """→ `{"marked": 0|1}`; 404 unless the notification is the caller's own."""
    own_notification_or_404(request.user, notification_id)
    return {"marked": notification_mark_read(user=request.user, notification_ids=[notification_id])}


@router.post("/read-all", response=ReadOut, summary="全部标记为已读")
def notification_read_all(request):
    return {"marked": notification_mark_read(user=request.user)}
