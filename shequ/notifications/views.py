"""The notification centre page: latest messages, mark one or all as read."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from shequ.notifications.selectors import (
    notifications_for,
    own_notification_or_404,
    unread_count,
)
from shequ.notifications.services import notification_mark_read

# Messages that ask the resident for a rating get a "去评价" button (cases closed, reminders).
RATING_KINDS = frozenset({"case_closed", "case_rating_reminder"})


@login_required
def notification_list(request):
    unread_only = request.GET.get("unread") == "1"
    context = {
        "notifications": notifications_for(request.user, unread_only=unread_only, limit=100),
        "unread": unread_count(request.user),
        "unread_only": unread_only,
        "rating_kinds": RATING_KINDS,
    }
    if request.headers.get("HX-Request"):
        return render(request, "notifications/list.html#notification-list", context)
    return render(request, "notifications/list.html", context)


@login_required
@require_POST
def notification_read(request, pk: int | None = None):
    if pk is not None:
        own_notification_or_404(request.user, pk)
    notification_mark_read(user=request.user, notification_ids=None if pk is None else [pk])
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications")
