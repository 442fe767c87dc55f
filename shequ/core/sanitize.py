"""Refuse input that no database can hold before it reaches one.

Numbers: an id in the path, or a number in the query string, with more than 18 digits is
beyond a 64-bit integer; SQLite raises OverflowError (inside the caller's transaction, so even
an error handler cannot recover the request). No Shequ identifier is that long: such a path is
404 and such a query value 400.

NUL characters:

PostgreSQL text cannot hold NUL (0x00): a query parameter or JSON string containing one makes
the database raise, i.e. a 500 (found by fuzzing the API on PostgreSQL). No legitimate text
contains it, so `NulByteMiddleware` answers 400 for a NUL in the query string, in a JSON body
(`\\u0000`) or in a urlencoded form. Multipart bodies (file uploads) are left alone: files may
contain any byte, and form fields there go through Django forms, which refuse NUL themselves.

JSON nesting: Python's json module recurses once per level, so a body like `[[[[…]]]]` 20,000
levels deep raises RecursionError (a 500). `JsonBodyMiddleware` answers 400 `body_too_deep` for a
JSON body nested deeper than MAX_JSON_DEPTH, before anything parses it; `json_loads()` is the
depth-checked parser for JSON found elsewhere (a form field holding JSON, the API parser).

Empty bodies: a POST/PUT/PATCH to the JSON API with zero bytes (curl -X POST, no Content-Type)
is the empty JSON object, so an operation whose body fields all have defaults accepts it.
"""

import json
from urllib.parse import unquote_to_bytes

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from shequ.core.errors import InvalidInput

CHECKED_BODIES = ("application/json", "application/x-www-form-urlencoded", "text/plain")
FORM_BODIES = ("multipart/form-data", "application/x-www-form-urlencoded")
BODY_METHODS = ("POST", "PUT", "PATCH")
MAX_JSON_DEPTH = 64  # Shequ's own bodies nest three or four levels
_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


def json_too_deep(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays/objects more than `limit` levels (strings are skipped).

    Iterative, so it cannot itself overflow the stack; a body with few brackets is answered by
    counting them, without the scan."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSERS:
            depth -= 1
    return False


def body_too_deep_error() -> InvalidInput:
    message = _("请求体嵌套层级过深（最多 %(n)d 层）。") % {"n": MAX_JSON_DEPTH}
    return InvalidInput(message, code="body_too_deep", details={"max_depth": MAX_JSON_DEPTH})


def json_loads(data: bytes | str):
    """json.loads that refuses (InvalidInput `body_too_deep`) what would exhaust the stack.

    Other malformed JSON raises ValueError as json.loads does."""
    if json_too_deep(data):
        raise body_too_deep_error()
    try:
        return json.loads(data)
    except RecursionError:  # deep in a way the scan did not count (cannot happen for JSON)
        raise body_too_deep_error() from None


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_has_nul(k) or _json_has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    return False


def has_nul(request) -> bool:
    if b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    content_type = (request.content_type or "").lower()
    if request.method not in ("POST", "PUT", "PATCH") or not content_type.startswith(
        CHECKED_BODIES
    ):
        return False
    body = request.body
    if b"\x00" in body:
        return True
    if content_type.startswith("application/x-www-form-urlencoded"):
        return b"\x00" in unquote_to_bytes(body)
    if b"\\u0000" in body:  # maybe an escaped NUL: look properly
        try:
            return _json_has_nul(json_loads(body))
        except (ValueError, InvalidInput):
            return False  # not JSON after all; the view will say so
    return False


MAX_DIGITS = 18  # 10**18 - 1 < 2**63 - 1


def has_oversized_path_number(request) -> bool:
    return any(
        part.isdigit() and len(part) > MAX_DIGITS for part in request.path.split("/") if part
    )


def has_oversized_query_number(request) -> bool:
    return any(
        value.strip().lstrip("+-").isdigit() and len(value.strip().lstrip("+-")) > MAX_DIGITS
        for values in request.GET.lists()
        for value in values[1]
    )


def _refuse(request, status: int, code: str, message: str, details=None):
    if request.path.startswith(("/api/", "/open311/")):
        return JsonResponse(
            {"code": code, "message": message, "details": details},
            status=status,
            json_dumps_params={"ensure_ascii": False},
        )
    template = "web/errors/404.html" if status == 404 else "web/errors/400.html"
    return render(request, template, {"message": message}, status=status)


class NulByteMiddleware:
    """NUL characters and numbers too large for any database column are refused up front."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_oversized_path_number(request):
            return _refuse(request, 404, "not_found", _("未找到该资源。"))
        if has_oversized_query_number(request):
            return _refuse(request, 400, "number_out_of_range", _("请求中的数值超出范围。"))
        if has_nul(request):
            return _refuse(
                request, 400, "invalid_character", _("请求包含无效字符（NUL），请检查后重试。")
            )
        return self.get_response(request)


class JsonBodyMiddleware:
    """Extreme JSON bodies: too deep is 400 `body_too_deep`; an empty API body is `{}`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in BODY_METHODS:
            content_type = (request.content_type or "").lower()
            if not content_type.startswith(FORM_BODIES):
                try:
                    body = request.body
                except RequestDataTooBig:  # Django answers that itself, as before
                    return self.get_response(request)
                if json_too_deep(body):
                    error = body_too_deep_error()
                    return _refuse(request, 400, error.code, error.message, error.details)
                if not body and request.path.startswith("/api/"):
                    empty_body_is_empty_object(request)
        return self.get_response(request)


def empty_body_is_empty_object(request) -> None:
    """Make a zero-byte API body read as the JSON object `{}`.

    Django caches the body it read in `_body`; nothing has read the (empty) stream but us."""
    request._body = b"{}"
    request.META["CONTENT_TYPE"] = "application/json"
    request.content_type = "application/json"
    request.content_params = {}
