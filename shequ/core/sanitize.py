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
"""

import json
from urllib.parse import unquote_to_bytes

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

CHECKED_BODIES = ("application/json", "application/x-www-form-urlencoded", "text/plain")


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
            return _json_has_nul(json.loads(body))
        except ValueError:
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


def _refuse(request, status: int, code: str, message: str):
    if request.path.startswith(("/api/", "/open311/")):
        return JsonResponse(
            {"code": code, "message": message, "details": None},
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
