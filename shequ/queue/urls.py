from django.urls import path

from shequ.queue import views

URL_PREFIX = "ops/"

urlpatterns = [
    path("tasks/", views.queue_status, name="queue-status"),
    path("tasks/<str:result_id>/retry/", views.queue_retry, name="queue-retry"),
]
