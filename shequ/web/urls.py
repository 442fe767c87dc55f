from django.contrib.auth import views as auth_views
from django.urls import path

from shequ.web import views

URL_PREFIX = ""

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("elder-mode/", views.elder_mode_toggle, name="elder-mode"),
    path("switch-role/", views.switch_role, name="switch-role"),
    path("favicon.ico", views.favicon, name="favicon"),
]
