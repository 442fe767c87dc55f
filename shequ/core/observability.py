"""Request ids, request metrics and structured (JSON) logs.

`RequestMiddleware` (first in MIDDLEWARE) gives every request an id — the proxy's
`X-Request-ID` when it looks sane, a fresh one otherwise — returns it in the response header,
puts it on every log record of the request, records latency for /metrics and writes one
`request` log line (method, route, status, duration, user id; never the query string, which can
carry personal data). `JsonFormatter` writes one JSON object per line; `RedactFilter` masks
mobile and ID numbers that slip into a log message and replaces the values of any query string
in it (`GET /people/?q=*`): a search for part of an ID number is personal data too. The same
redaction covers every server's access log: runserver (`django.server` goes through the
console handler), gunicorn (`gunicorn_conf.RedactingLogger`), nginx (docs/deploy/nginx.conf
logs `$uri`, never `$request`).
"""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from shequ.core import metrics

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
access_logger = logging.getLogger("shequ.request")
VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str:
    return request_id_var.get()


class RequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if VALID_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        except BaseException:
            request_id_var.reset(token)
            raise
        duration = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match else "unmatched"
        metrics.observe_request(request.method, route, response.status_code, duration)
        user = getattr(request, "user", None)
        access_logger.info(
            "%s %s %s %.1fms",
            request.method,
            route,
            response.status_code,
            duration * 1000,
            extra={
                "http_method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
ID_NUMBER = re.compile(r"(?<![\dA-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![\dA-Za-z])")


# A query string inside a URL or request line: "?q=199&page=2" (up to a space, quote, # or >).
QUERY_IN_URL = re.compile(r"\?[^\s\"'#<>]*")
QUERY_PAIR = re.compile(r"(^|&|;)([^=&;]*)=[^&;]*")


def redact(text: str) -> str:
    text = ID_NUMBER.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    return MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def redact_query_string(query: str) -> str:
    """ "q=19912&page=2" → "q=*&page=*" (the names stay, every value goes)."""
    if not query:
        return query
    redacted = QUERY_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}=*", query)
    return redacted if "=" in query else "*"


def redact_query(text: str) -> str:
    """Every query string inside `text` (URLs, request lines) with its values replaced."""
    if "?" not in text:
        return text
    return QUERY_IN_URL.sub(lambda m: "?" + redact_query_string(m.group(0)[1:]), text)


class RedactFilter(logging.Filter):
    """Mask mobile numbers (138****1234) and ID numbers (3211**********0012) in log text, and
    the values of query strings (GET /people/?q=*)."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(redact_query(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


EXTRA_FIELDS = ("http_method", "route", "status", "duration_ms", "user_id", "task_id")


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or None,
            "process": record.process,
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
