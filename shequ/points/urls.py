from django.urls import path

from shequ.points.views import resident as r
from shequ.points.views import staff as s

URL_PREFIX = "points/"
app_name = "points"

urlpatterns = [
    # residents
    path("", r.task_square, name="tasks"),
    path("tasks/<int:pk>/", r.task_detail, name="task"),
    path("tasks/<int:pk>/claim/", r.task_claim, name="task-claim"),
    path("tasks/<int:pk>/withdraw/", r.claim_withdraw, name="task-withdraw"),
    path("tasks/<int:pk>/check/", r.task_check, name="task-check"),
    path("tasks/<int:pk>/codes/", r.task_codes, name="task-codes"),
    path("claims/<int:pk>/confirm/", r.claim_confirm, name="claim-confirm"),
    path("my/tasks/", r.my_tasks, name="my-tasks"),
    path("me/", r.me, name="me"),
    path("me/paycode/", r.paycode, name="paycode"),
    path("store/", r.store, name="store"),
    path("store/items/<int:pk>/redeem/", r.redeem, name="redeem"),
    path("store/items/<int:pk>/photo/", r.item_photo, name="item-photo"),
    path("orders/", r.orders, name="orders"),
    path("orders/<int:pk>/cancel/", r.order_cancel, name="order-cancel"),
    path("help/new/", r.help_new, name="help-new"),
    path("recognition/", r.recognition, name="recognition"),
    path("leaderboard/", r.leaderboard, name="leaderboard"),  # old address: redirects
    path("certificate/", r.certificate, name="certificate"),
    # staff
    path("manage/", s.manage_tasks, name="manage-tasks"),
    path("manage/tasks/new/", s.task_new, name="task-new"),
    path("manage/tasks/<int:pk>/", s.manage_task, name="manage-task"),
    path("manage/tasks/<int:pk>/<str:action>/", s.task_action, name="task-action"),
    path("manage/claims/<int:pk>/honour/", s.claim_honour, name="claim-honour"),
    path("manage/people/<int:pk>/certificate/", s.person_certificate, name="person-certificate"),
    path("manage/store/", s.manage_store, name="manage-store"),
    path("manage/store/items/new/", s.item_new, name="item-new"),
    path("manage/store/items/<int:pk>/stock-in/", s.item_stock_in, name="item-stock-in"),
    path("manage/store/items/<int:pk>/toggle/", s.item_toggle, name="item-toggle"),
    path("manage/store/pickup/", s.pickup, name="pickup"),
    path("manage/orders/<int:pk>/pickup/", s.order_pickup, name="order-pickup"),
    path("manage/orders/<int:pk>/cancel/", s.order_cancel, name="order-staff-cancel"),
    path("manage/merchants/", s.manage_merchants, name="manage-merchants"),
    path("manage/merchants/<int:pk>/settle/", s.merchant_settle, name="merchant-settle"),
    path("manage/reports/", s.reports, name="reports"),
    path("manage/reports/fund/", s.fund, name="fund"),
    path("manage/reports/adjust/", s.adjust, name="adjust"),
    path("till/", s.till, name="till"),
]
