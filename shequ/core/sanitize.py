"""Refuse NUL characters in requests before they reach the database.

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


class NulByteMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_nul(request):
            message = _("请求包含无效字符（NUL），请检查后重试。")
            if request.path.startswith(("/api/", "/open311/")):
                return JsonResponse(
                    {"code": "invalid_character", "message": message, "details": None},
                    status=400,
                    json_dumps_params={"ensure_ascii": False},
                )
            return render(request, "web/errors/400.html", {"message": message}, status=400)
        return self.get_response(request)
