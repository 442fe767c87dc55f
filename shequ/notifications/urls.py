from django.urls import path

from shequ.notifications import views

URL_PREFIX = "notifications/"

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("read-all/", views.notification_read, name="notifications-read-all"),
    path("<int:pk>/read/", views.notification_read, name="notification-read"),
]
