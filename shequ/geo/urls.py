from django.urls import path

from shequ.geo import views

URL_PREFIX = ""

urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("regions/", views.region_browser, name="regions"),
    path("regions/<str:code>/", views.region_browser, name="region"),
]
