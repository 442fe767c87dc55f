"""Delivering notifications through an external channel (SMS, WeChat) once per notification.

Run by the `deliver_external` task (tasks.py), which `services.notify` and `notify_bulk` enqueue;
kept apart from services.py so that services → tasks → delivery imports without a cycle.
"""

import logging

from django.db import IntegrityError, transaction

from shequ.notifications.backends import DeliveryError, NoAddress, backend_for
from shequ.notifications.models import Delivery, DeliveryStatus, Notification

logger = logging.getLogger("shequ.notifications")


def notification_deliver(*, notification_ids: list[int], channel: str) -> int:
    """Deliver through one external channel, once per notification (a retry skips sent ones)."""
    backend = backend_for(channel)
    sent = 0
    for notification in Notification.objects.filter(pk__in=notification_ids).select_related(
        "recipient"
    ):
        if Delivery.objects.filter(notification=notification, channel=channel).exists():
            continue
        try:
            detail = backend.send(
                recipient=notification.recipient,
                title=notification.title,
                body=notification.body,
                url=notification.url,
            )
            status = DeliveryStatus.SENT
            sent += 1
        except NoAddress as exc:
            status, detail = DeliveryStatus.SKIPPED, str(exc)
        except DeliveryError as exc:
            logger.warning("delivery via %s failed: %s", channel, exc)
            status, detail = DeliveryStatus.FAILED, str(exc)
        try:
            with transaction.atomic():
                Delivery.objects.create(
                    notification=notification, channel=channel, status=status, detail=detail[:200]
                )
        except IntegrityError:
            pass  # another worker recorded it first
    return sent
