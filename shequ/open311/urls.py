from django.urls import path, re_path

from shequ.open311 import views

URL_PREFIX = "open311/"

FMT = r"\.(?P<fmt>[^./]+)$"
urlpatterns = [
    path("", views.page, name="open311-page"),
    path("v2/openapi.json", views.openapi_json, name="open311-openapi"),
    re_path(r"^v2/discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^v2/services" + FMT, views.service_list, name="open311-services"),
    re_path(r"^v2/services/(?P<code>[^/]+?)" + FMT, views.service_definition),
    re_path(r"^v2/requests" + FMT, views.requests, name="open311-requests"),
    re_path(r"^v2/requests/(?P<request_id>[^/]+?)" + FMT, views.request_detail),
    re_path(r"^v2/tokens/(?P<token>[^/]+?)" + FMT, views.token),
    re_path(r"^v2/servicerequestupdates" + FMT, views.updates, name="open311-updates"),
    re_path(r"^v2/(?P<rest>.*)$", views.not_found),
]
