"""The client's address: one function for rate limits, the audit log, idempotency, metrics and
django-axes (`AXES_CLIENT_IP_CALLABLE`).

Behind `SHEQU_PROXY_COUNT` trusted reverse proxies (nginx in docs/operations.md: 1), the
client is the address that the outermost trusted proxy appended to X-Forwarded-For, counted
from the right — entries further left were written by the client and are not trusted. With no
proxy configured the direct peer (REMOTE_ADDR) is the client and X-Forwarded-For is ignored.
"""

import ipaddress

from django.conf import settings

UNKNOWN = "unknown"


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The caller's IP address as text ("unknown" when there is none to be trusted)."""
    if request is None:
        return UNKNOWN
    proxies = getattr(settings, "SHEQU_PROXY_COUNT", 0)
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return _valid(forwarded[-proxies]) or UNKNOWN
    return _valid(request.META.get("REMOTE_ADDR", "") or "") or UNKNOWN


def client_ip_or_none(request) -> str | None:
    """`client_ip` for columns of type inet (the audit log, django-axes' access log): None, not
    "unknown", when there is no address (a test's force_login, a request without REMOTE_ADDR)."""
    address = client_ip(request)
    return None if address == UNKNOWN else address


def is_loopback(request) -> bool:
    """Does the request come from this machine (after the trusted proxies)?"""
    address = client_ip(request)
    return address != UNKNOWN and ipaddress.ip_address(address).is_loopback
