from django.urls import path

from shequ.core import audit_views

URL_PREFIX = ""

urlpatterns = [
    path("audit/", audit_views.audit_log, name="audit"),
]
