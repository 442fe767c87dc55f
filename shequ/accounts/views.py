"""The second step of login: enter (or first set up) the authenticator code."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from shequ.accounts import second_factor, totp
from shequ.accounts.services import may_use_admin
from shequ.core import ratelimit
from shequ.core.errors import ServiceError


def _next(request, pending) -> str:
    target = pending.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


def _rate_limited(request, user) -> str | None:
    try:
        ratelimit.check(request, "totp", key=f"user:{user.pk}")
    except ratelimit.RateLimited as error:
        return error.message
    return None


def totp_verify(request):
    user, pending = second_factor.pending_user(request)
    if user is None:
        return redirect("login")
    device = second_factor.device_of(user)
    if device is None or not device.confirmed:
        return redirect("login-totp-setup")
    error = None
    if request.method == "POST":
        error = _rate_limited(request, user)
        if error is None:
            if second_factor.totp_verify(
                user=user, code=request.POST.get("code", ""), request=request
            ):
                second_factor.finish_login(request, user, pending)
                return redirect(_next(request, pending))
            error = _("验证码不正确或已过期，请查看验证器中的最新 6 位数字。")
    return render(
        request, "accounts/totp_verify.html", {"error": error}, status=400 if error else 200
    )


def totp_setup(request):
    user, pending = second_factor.pending_user(request)
    if user is None:
        return redirect("login")
    device = second_factor.device_of(user)
    if device is not None and device.confirmed:
        return redirect("login-totp")
    error = None
    if request.method == "POST":
        error = _rate_limited(request, user)
        if error is None:
            try:
                second_factor.totp_confirm(
                    user=user, code=request.POST.get("code", ""), request=request
                )
            except ServiceError as problem:
                error = problem.message
            else:
                second_factor.finish_login(request, user, pending)
                return redirect(_next(request, pending))
    device = second_factor.device_of(user)
    if request.method != "POST" or device is None:
        device = second_factor.totp_enrol(user=user)
    secret = device.secret
    return render(
        request,
        "accounts/totp_setup.html",
        {
            "error": error,
            "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "uri": totp.provisioning_uri(
                secret, account=user.username, issuer=second_factor.ISSUER
            ),
        },
        status=400 if error else 200,
    )


def admin_login(request):
    """The admin has no login page of its own: everyone signs in (with TOTP) through /login/.
    A signed-in user without admin access goes home (not back to /login/, which would send
    them straight back here)."""
    if request.user.is_authenticated and not may_use_admin(request.user):
        messages.info(request, _("管理后台仅供管理员使用，您的工作请在首页的菜单中进行。"))
        return redirect("home")
    return redirect_to_login(request.GET.get("next") or "/admin/")
