"""Sending notifications: in-app rows at once, external channels through the task queue.

Callers run `notify(...)` after their transaction commits (`transaction.on_commit`), so a
rolled-back change never notifies anyone. The external sending itself is `delivery.py`'s
`notification_deliver` (run by the task in `tasks.py`; re-exported here).
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import Model
from django.utils import timezone

from shequ.core.actors import User
from shequ.notifications.backends import CHANNEL_SETTINGS
from shequ.notifications.delivery import notification_deliver
from shequ.notifications.models import Notification
from shequ.notifications.tasks import deliver_external


def notify(
    *,
    recipients: Iterable[User | int | None],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    obj: Model | None = None,
    channels: Iterable[str] = (),
    image_url: str = "",
) -> list[Notification]:
    """Create one in-app notification per distinct recipient; queue external channels.

    `recipients` are users or user ids; `channels` adds "sms" and/or "wechat" on top of the
    in-app centre (always used).
    """
    ids = sorted({r.pk if isinstance(r, Model) else r for r in recipients if r is not None})
    if not ids:
        return []
    object_type = obj._meta.label_lower if obj is not None else ""
    object_id = str(obj.pk) if obj is not None else ""
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=user_id,
                kind=kind,
                title=str(title)[:200],
                body=str(body),
                url=url[:300],
                image_url=image_url[:300],
                object_type=object_type,
                object_id=object_id,
                created_at=now,
            )
            for user_id in ids
        ]
    )
    external = [c for c in channels if c in CHANNEL_SETTINGS]
    if external and rows and rows[0].pk is not None:
        for channel in external:
            deliver_external.enqueue([n.pk for n in rows], channel)
    return rows


def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications (all unread when ids is None) as read; returns the count."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


def notify_bulk(messages: list[dict[str, Any]], *, channels: Iterable[str] = ()) -> int:
    """Many notifications at once (the SLA sweep): each message is a dict with `recipients`,
    `kind`, `title` and optionally `body`, `url`, `object_type`, `object_id`."""
    now = timezone.now()
    rows = []
    for message in messages:
        for user_id in sorted({getattr(r, "pk", r) for r in message["recipients"] if r}):
            rows.append(
                Notification(
                    recipient_id=user_id,
                    kind=message["kind"],
                    title=str(message["title"])[:200],
                    body=str(message.get("body", "")),
                    url=message.get("url", "")[:300],
                    object_type=message.get("object_type", ""),
                    object_id=str(message.get("object_id", "")),
                    created_at=now,
                )
            )
    created = Notification.objects.bulk_create(rows, batch_size=2000)
    external = [c for c in channels if c in CHANNEL_SETTINGS]
    if external and created and created[0].pk is not None:
        ids = [n.pk for n in created]
        for channel in external:
            for start in range(0, len(ids), 500):
                deliver_external.enqueue(ids[start : start + 500], channel)
    return len(created)


__all__ = ["notification_deliver", "notification_mark_read", "notify", "notify_bulk"]
