"""django-axes hooks: which account a failed login counts against, and the lockout answer."""

from axes.handlers.database import AxesDatabaseHandler
from django.http import JsonResponse, QueryDict, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

LOCKOUT_MINUTES = 15


def lockout_username(request, credentials) -> str:
    """Count failures per account whether the person typed the username or the mobile."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None and hasattr(request, "POST"):
        raw = request.POST.get("username", "")
    name = (raw or "").replace("\x00", "").strip().lower()
    if name and any(ch.isdigit() for ch in name):
        from shequ.accounts.services import user_find_by_mobile

        user = user_find_by_mobile(name)
        if user is not None:
            return user.username.lower()
    return name[:150]


def lockout_message() -> str:
    return _("登录失败次数过多，该账号已被锁定 %(minutes)d 分钟，请稍后再试或联系管理员。") % {
        "minutes": LOCKOUT_MINUTES
    }


def lockout_response(request, original_response=None, credentials=None):
    message = lockout_message()
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"code": "account_locked", "message": message, "details": None},
            status=429,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        from shequ.web.views import LoginForm

        form = LoginForm(request)
        response = render(
            request, "web/login.html", {"form": form, "lockout_message": message}, status=429
        )
    response["Retry-After"] = str(LOCKOUT_MINUTES * 60)
    return response


class SafeAxesDatabaseHandler(AxesDatabaseHandler):
    """axes records the request's form data with each failure; a JSON API call with a broken
    multipart Content-Type made that parsing raise (a 500 found by fuzzing). Treat an
    unparseable body as an empty form instead."""

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        if request is not None:
            try:
                request.POST  # noqa: B018 - parse now, inside the guard
            except (MultiPartParserError, UnreadablePostError, ValueError):
                request._post, request._files = QueryDict(), MultiValueDict()
        return super().user_login_failed(sender, credentials, request, **kwargs)
