"""Background delivery of notifications through external channels."""

from django.tasks import task

from shequ.notifications.delivery import notification_deliver


@task
def deliver_external(notification_ids: list[int], channel: str) -> int:
    """Send the notifications through `channel` (sms | wechat); returns how many were sent."""
    return notification_deliver(notification_ids=notification_ids, channel=channel)
