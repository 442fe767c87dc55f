"""Sessions of accounts that need a second factor must have passed it."""

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from shequ.accounts.second_factor import CHECKED, totp_needed


class TotpRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and self._must_check(request):
            if totp_needed(user):
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
            request.session[CHECKED] = "password"
        return self.get_response(request)

    @staticmethod
    def _must_check(request) -> bool:
        checked = request.session.get(CHECKED)
        if checked == "totp":
            return False
        # A password-only session is re-checked while the second factor is required, so
        # turning the requirement on takes effect for sessions that already exist.
        return checked != "password" or settings.SHEQU_REQUIRE_TOTP
