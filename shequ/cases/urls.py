from django.urls import path

from shequ.cases import views

URL_PREFIX = "cases/"

urlpatterns = [
    path("", views.case_list, name="cases-list"),
    path("report/", views.report, name="cases-report"),
    path("report/attributes/", views.report_attributes, name="cases-report-attributes"),
    path("report/duplicates/", views.report_duplicates, name="cases-report-duplicates"),
    path("mine/", views.my_cases, name="cases-mine"),
    path("inbox/", views.inbox, name="cases-inbox"),
    path("board/", views.board, name="cases-board"),
    path("verify/", views.verify_queue, name="cases-verify"),
    path("hotline/", views.hotline, name="cases-hotline"),
    path("visits/", views.visit_list, name="cases-visits"),
    path("<int:pk>/", views.case_detail, name="case-detail"),
    path("<int:pk>/act/<str:action>/", views.case_act, name="case-act"),
    path("<int:pk>/follow/", views.case_follow_view, name="case-follow"),
    path("<int:pk>/contact/", views.case_contact, name="case-contact"),
    path("<int:pk>/description/", views.case_description_reveal, name="case-description-reveal"),
    path("photos/<int:pk>/", views.photo, name="case-photo"),
    path("photos/<int:pk>/thumb/", views.photo, {"thumb": True}, name="case-photo-thumb"),
]
