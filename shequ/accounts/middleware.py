"""Sessions of accounts that need a second factor must have passed it."""

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from shequ.accounts.second_factor import CHECKED, totp_needed, totp_required_for


class TotpRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and self._must_stop(request, user):
            logout(request)
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "otp_required",
                        "message": _("该账号需要两步验证，请重新登录。"),
                        "details": None,
                    },
                    status=401,
                    json_dumps_params={"ensure_ascii": False},
                )
            return redirect("login")
        return self.get_response(request)

    @staticmethod
    def _must_stop(request, user) -> bool:
        checked = request.session.get(CHECKED)
        if checked == "totp":
            return False
        if checked == "password":
            # Re-checked while the second factor is required, so that an account given the
            # city-operator role (or the requirement itself) takes effect for open sessions.
            # The assignments query is cached on request.user and reused by the scoping helper.
            return settings.SHEQU_REQUIRE_TOTP and totp_required_for(user)
        if totp_needed(user):  # a session that never went through our login (e.g. older)
            return True
        request.session[CHECKED] = "password"
        return False
