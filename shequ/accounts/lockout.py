"""django-axes hooks: which account a failed login counts against, and the lockout answer."""

import hashlib

from axes.handlers.database import AxesDatabaseHandler
from django.http import HttpResponse, JsonResponse, QueryDict, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from shequ.accounts.models import User
from shequ.accounts.services import user_find_by_mobile
from shequ.core.audit import audit_record
from shequ.core.durable import durable_write

LOCKOUT_MINUTES = 15
NUMBER_DIGITS = 7  # a typed login with this many digits is a phone or ID number


def lockout_username(request, credentials) -> str:
    """Count failures per account whether the person typed the username or the mobile."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None and hasattr(request, "POST"):
        raw = request.POST.get("username", "")
    name = (raw or "").replace("\x00", "").strip().lower()
    if name and any(ch.isdigit() for ch in name):
        user = user_find_by_mobile(name)
        if user is not None:
            return user.username.lower()
        if sum(ch.isdigit() for ch in name) >= NUMBER_DIGITS:
            # A mobile or ID number that is no account's: count failures against it, but
            # never store the number itself (axes keeps this value in its table).
            return "#" + hashlib.sha256(name.encode()).hexdigest()[:32]
    return name[:150]


def audit_lockout(sender, request=None, username=None, **kwargs) -> None:
    """An account is (still) locked: the refused login goes to the audit log. Sent by axes
    inside its failure handler, which is a durable write, so no rollback undoes the row."""
    user = User.objects.filter(username__iexact=username or "").first()
    audit_record(
        actor=None,
        action="accounts.login_locked",
        obj=user,
        object_type="accounts.user",
        object_repr=(username or "")[:40] if user is None else "",
        request=request,
    )


def lockout_message() -> str:
    return _("登录失败次数过多，该账号已被锁定 %(minutes)d 分钟，请稍后再试或联系管理员。") % {
        "minutes": LOCKOUT_MINUTES
    }


def lockout_response(request, original_response=None, credentials=None):
    message = lockout_message()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"code": "account_locked", "message": message, "details": None},
            status=429,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        from shequ.web.views import LoginForm  # noqa: PLC0415 - upward: web's login form

        form = LoginForm(request)
        response = render(
            request, "web/login.html", {"form": form, "lockout_message": message}, status=429
        )
    response["Retry-After"] = str(LOCKOUT_MINUTES * 60)
    return response


class SafeAxesDatabaseHandler(AxesDatabaseHandler):
    """axes records the request's form data with each failure; a JSON API call with a broken
    multipart Content-Type made that parsing raise (a 500 found by fuzzing). Treat an
    unparseable body as an empty form instead. Failures are durable writes: no rollback of
    the request undoes them."""

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        if request is not None:
            try:
                request.POST  # noqa: B018 - parse now, inside the guard
            except (MultiPartParserError, UnreadablePostError, ValueError):
                request._post, request._files = QueryDict(), MultiValueDict()
        record = super().user_login_failed
        # A rollback of the request (an Idempotency-Key on a failed login answers non-2xx and
        # is rolled back) must not undo the failure: shequ/core/durable.py.
        return durable_write(lambda: record(sender, credentials, request, **kwargs))
