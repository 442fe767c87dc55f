from django.urls import path

from shequ.accounts import views

URL_PREFIX = "login/totp/"

urlpatterns = [
    path("", views.totp_verify, name="login-totp"),
    path("setup/", views.totp_setup, name="login-totp-setup"),
]
