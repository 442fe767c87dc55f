"""Shell pages: the role home pages, login, elder mode and role switching."""

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shequ.accounts import second_factor
from shequ.accounts.services import user_set_elder_mode
from shequ.core import ratelimit
from shequ.core.regions import Level
from shequ.core.roles import Role
from shequ.core.scoping import scoped
from shequ.geo.models import Estate, Region
from shequ.geo.selectors import grid_summary, grid_workers_by_grid, region_children_with_counts
from shequ.web.context_processors import ELDER_COOKIE, elder_mode_for
from shequ.web.roles import SESSION_KEY, active_role, assignments_for, available_roles


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": gettext_lazy("用户名（或手机号码）或密码错误，请重新输入。"),
        "inactive": gettext_lazy("该账号已停用，请联系社区工作人员。"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = gettext_lazy("用户名或手机号码")
        self.fields["password"].label = gettext_lazy("密码")


class LoginView(auth_views.LoginView):
    """Password step; accounts that need a second factor continue at /login/totp/."""

    form_class = LoginForm
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            ratelimit.check(request, "login")
        except ratelimit.RateLimited as error:
            context = self.get_context_data(form=self.get_form(), lockout_message=error.message)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        if second_factor.begin_login(
            self.request, form.get_user(), redirect_to=self.get_success_url()
        ):
            return redirect("login-totp")
        return redirect(self.get_success_url())


def _safe_next(request, fallback: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_POST
def elder_mode_toggle(request):
    enabled = not elder_mode_for(request)
    if request.user.is_authenticated:
        user_set_elder_mode(user=request.user, enabled=enabled)
    response = redirect(_safe_next(request))
    response.set_cookie(
        ELDER_COOKIE,
        "1" if enabled else "0",
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
    )
    return response


@login_required
@require_POST
def switch_role(request):
    role = request.POST.get("role")
    if role in available_roles(request.user):
        request.session[SESSION_KEY] = role
    else:
        messages.error(request, _("您没有该身份。"))
    return redirect("home")


HOME_TEMPLATES = {
    Role.RESIDENT: "web/home/resident.html",
    Role.GRID_WORKER: "web/home/grid_worker.html",
    Role.COMMUNITY_STAFF: "web/home/region_staff.html",
    Role.TOWNSHIP_OFFICER: "web/home/region_staff.html",
    Role.CITY_OPERATOR: "web/home/region_staff.html",
    Role.AUDITOR: "web/home/region_staff.html",
    Role.PROPERTY_STAFF: "web/home/property_staff.html",
    Role.PARTNER_CONTACT: "web/home/partner.html",
}


@login_required
def home(request):
    role = active_role(request)
    context: dict[str, Any] = {"role": role, "roles": available_roles(request.user)}
    if role is None and request.user.is_superuser:
        # The system administrator: the whole city at a glance and the operator's tools.
        template = "web/home/superuser.html"
        city = Region.objects.filter(level=Level.CITY).first()
        context["scopes"] = (
            [{"region": city, "children": region_children_with_counts(city)}] if city else []
        )
    elif role is None:
        template = "web/home/no_role.html"
    else:
        template = HOME_TEMPLATES[role]
        assignments = assignments_for(request.user, role)
        context["assignments"] = assignments
        if role in (
            Role.GRID_WORKER,
            Role.COMMUNITY_STAFF,
            Role.TOWNSHIP_OFFICER,
            Role.CITY_OPERATOR,
            Role.AUDITOR,
        ):
            context["scopes"] = [
                {
                    "region": a.region,
                    "children": region_children_with_counts(a.region)
                    if role != Role.GRID_WORKER
                    else [],
                }
                for a in assignments
            ]
        if role == Role.GRID_WORKER:
            context["grids"] = [grid_summary(a.region) for a in assignments]
        if role == Role.RESIDENT:
            workers = grid_workers_by_grid([a.region.code for a in assignments])
            context["my_grids"] = [
                {"region": a.region, "workers": workers.get(a.region.code, [])} for a in assignments
            ]
        if role == Role.PROPERTY_STAFF:
            context["estates"] = scoped(
                Estate.objects.select_related("grid", "grid__parent").order_by(
                    "region_code", "name"
                ),
                request.user,
                "geo.view_estate",
                company_field="property_company",
            )
    return render(request, template, context)


def _error_response(request, status: int, code: str, message: str, template: str):
    """Chinese error pages for people; JSON {code, message, details} for API callers.

    Never a stack trace or personal data."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": code, "message": message, "details": None},
            status=status,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, template, {"message": message}, status=status)


def not_found(request, exception=None):
    return _error_response(
        request, 404, "not_found", _("页面不存在或您无权查看。"), "web/errors/404.html"
    )


def permission_denied(request, exception=None):
    return _error_response(
        request, 403, "forbidden", _("您没有执行此操作的权限。"), "web/errors/403.html"
    )


def bad_request(request, exception=None):
    return _error_response(
        request, 400, "bad_request", _("请求有误，请检查后重试。"), "web/errors/400.html"
    )


def server_error(request):
    return _error_response(
        request, 500, "server_error", _("服务器内部错误，请稍后重试。"), "web/errors/500.html"
    )


_FAVICON = Path(__file__).resolve().parent / "static" / "web" / "favicon.ico"


def favicon(request):
    """/favicon.ico, which browsers ask for whatever the page's <link rel="icon"> says."""
    response = HttpResponse(_FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
