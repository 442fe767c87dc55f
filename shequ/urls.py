"""URL configuration. Each app with a `urls.py` declares its URL_PREFIX and is included here."""

from importlib import import_module

from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from shequ.accounts.views import admin_login
from shequ.api import api
from shequ.core import views as core_views
from shequ.core.metrics import metrics_view

admin.site.site_header = _("丹阳智慧社区 · 管理后台")
admin.site.site_title = _("丹阳智慧社区")
admin.site.index_title = _("配置与数据管理")

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("admin/login/", admin_login),  # one login page for all (lockout, second factor)
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

for config in apps.get_app_configs():
    if not config.name.startswith("shequ."):
        continue
    try:
        module = import_module(f"{config.name}.urls")
    except ModuleNotFoundError as exc:
        if exc.name != f"{config.name}.urls":
            raise
        continue
    urlpatterns.append(path(module.URL_PREFIX, include(module)))

handler400 = "shequ.web.views.bad_request"
handler403 = "shequ.web.views.permission_denied"
handler404 = "shequ.web.views.not_found"
handler500 = "shequ.web.views.server_error"
