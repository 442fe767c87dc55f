"""Background delivery of notifications through external channels."""

from django.tasks import task


@task
def deliver_external(notification_ids: list[int], channel: str) -> int:
    """Send the notifications through `channel` (sms | wechat); returns how many were sent."""
    from shequ.notifications.services import notification_deliver

    return notification_deliver(notification_ids=notification_ids, channel=channel)
