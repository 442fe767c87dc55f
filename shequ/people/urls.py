from django.urls import path

from shequ.people import views

URL_PREFIX = "people/"

urlpatterns = [
    path("", views.people_list, name="people"),
    path("new/", views.person_create, name="person-new"),
    path("me/", views.my_record, name="my-record"),
    path("export/", views.people_export, name="people-export"),
    path("houses/", views.house_options, name="house-options"),
    path("<int:pk>/", views.person_detail, name="person"),
    path("<int:pk>/edit/", views.person_edit, name="person-edit"),
    path("<int:pk>/move/", views.person_move, name="person-move"),
    path("<int:pk>/reveal/", views.person_reveal, name="person-reveal"),
    path("<int:pk>/tags/", views.person_tag_add, name="person-tag-add"),
    path("<int:pk>/tags/<int:tag_id>/end/", views.person_tag_end, name="person-tag-end"),
    path("<int:pk>/household/", views.person_household, name="person-household"),
    path("buildings/<int:pk>/", views.building_rooms, name="building-rooms"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("import/", views.import_page, name="people-import"),
    path("import/template.xlsx", views.import_template, name="import-template"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("import/<int:pk>/confirm/", views.import_job_confirm, name="import-job-confirm"),
    path("import/<int:pk>/report.xlsx", views.import_job_report, name="import-job-report"),
    path("tags/", views.tag_vocabulary, name="tag-vocabulary"),
    path("tags/synonyms/<int:pk>/delete/", views.tag_synonym_remove, name="tag-synonym-remove"),
]
