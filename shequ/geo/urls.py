from django.urls import path

from shequ.geo import views

URL_PREFIX = ""

urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("regions/", views.region_browser, name="regions"),
    path("regions/<str:code>/", views.region_browser, name="region"),
    path("geo/buildings/<int:pk>/", views.building_detail, name="geo-building"),
    path("geo/buildings/<int:pk>/edit/", views.building_edit, name="geo-building-edit"),
    path("geo/buildings/<int:pk>/houses/new/", views.house_new, name="geo-house-new"),
    path("geo/houses/<int:pk>/edit/", views.house_edit, name="geo-house-edit"),
    path("geo/grids/<str:code>/buildings/new/", views.building_new, name="geo-building-new"),
    path("geo/grids/<str:code>/estates/new/", views.estate_new, name="geo-estate-new"),
    path("geo/estates/<int:pk>/edit/", views.estate_edit, name="geo-estate-edit"),
]
