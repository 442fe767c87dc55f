from django.urls import path

from shequ.analytics import views

URL_PREFIX = "analytics/"

urlpatterns = [
    path("", views.cockpit, name="analytics-cockpit"),
    path("export.xlsx", views.cockpit_export, name="analytics-export"),
    path("indicators/", views.definitions, name="analytics-definitions"),
    path("warnings/<int:pk>/", views.warning_detail, name="analytics-warning"),
    path(
        "warnings/<int:pk>/acknowledge/",
        views.warning_acknowledge,
        name="analytics-warning-acknowledge",
    ),
]
