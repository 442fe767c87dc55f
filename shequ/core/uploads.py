"""Upload size limits.

Django limits the non-file part of a request (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams files
of any size to disk. `RequestSizeMiddleware` refuses any request whose declared body is larger
than SHEQU_MAX_REQUEST_BYTES with 413 before anything reads it (nginx's client_max_body_size
should say the same, see docs/operations.md); `check_upload()` is for forms and APIs that take
a file (photos, Excel imports) and have a smaller limit of their own.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from shequ.core.errors import InvalidInput


def check_upload(upload, *, max_bytes: int | None = None) -> None:
    """Raise InvalidInput when an uploaded file is larger than allowed."""
    limit = max_bytes or settings.SHEQU_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise InvalidInput(
            _("文件过大（%(size)s），上限为 %(limit)s。")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="file_too_large",
        )


class RequestSizeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.SHEQU_MAX_REQUEST_BYTES
        if length > limit:
            message = _("请求内容过大，上限为 %(limit)s。") % {"limit": filesizeformat(limit)}
            if request.path.startswith(("/api/", "/open311/")):
                return JsonResponse(
                    {"code": "request_too_large", "message": message, "details": None},
                    status=413,
                    json_dumps_params={"ensure_ascii": False},
                )
            return render(request, "web/errors/400.html", {"message": message}, status=413)
        return self.get_response(request)
