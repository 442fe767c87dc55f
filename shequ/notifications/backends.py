"""External notification channels (SMS, WeChat) behind one interface.

A backend is a class with `channel` and `send(*, recipient, title, body, url) -> str`; it returns
a short detail for the delivery record and raises `DeliveryError` on failure. The default
`LoggingBackend` writes a log line with the recipient's masked number and never the plaintext.
Production swaps in a real gateway with SHEQU_SMS_BACKEND / SHEQU_WECHAT_BACKEND.
"""

import logging
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("shequ.notifications")

CHANNEL_SETTINGS = {"sms": "SHEQU_SMS_BACKEND", "wechat": "SHEQU_WECHAT_BACKEND"}


class DeliveryError(Exception):
    """The channel could not deliver the message."""


class NoAddress(DeliveryError):
    """The recipient has no address on this channel (e.g. no mobile number)."""


class Backend:
    channel = ""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, *, recipient, title: str, body: str, url: str) -> str:  # pragma: no cover
        raise NotImplementedError


class LoggingBackend(Backend):
    """Pretends to send: logs who (masked) would have received what."""

    def send(self, *, recipient, title: str, body: str, url: str) -> str:
        if self.channel == "sms" and not recipient.mobile:
            raise NoAddress("no mobile number")
        address = recipient.masked_mobile if self.channel == "sms" else recipient.username
        logger.info("notify %s to %s: %s", self.channel, address, title)
        return f"logged to {address}"


@cache
def backend_for(channel: str) -> Backend:
    path = getattr(settings, CHANNEL_SETTINGS[channel])
    return import_string(path)(channel)
