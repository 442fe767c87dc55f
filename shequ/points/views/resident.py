"""Resident pages (mobile first): task square, task detail and check-in, my tasks, my points,
the store and my orders, asking for help, 志愿星级 (recognition) and my service certificate."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shequ.core.checkin import checkin_qr
from shequ.core.models import CheckinPurpose
from shequ.core.qr import qr_data_uri
from shequ.core.scoping import EVERYTHING, has_perm, scope_codes, user_assignments
from shequ.points import clock, selectors, services
from shequ.points import permissions as P
from shequ.points.choices import ClaimStatus, PointKind, TaskKind, TaskStatus
from shequ.points.forms import CodeForm, HelpForm
from shequ.points.models import Claim, Order
from shequ.points.services import person_of
from shequ.points.views.common import form_errors, new_request_key, run


def resident_page(view):
    """Residents only (others get 404); a login without a registry record sees how to get one."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_perm(request.user, P.PARTICIPATE):
            raise Http404
        person = person_of(request.user)
        if person is None:
            return render(request, "points/no_person.html", status=200)
        return view(request, person, *args, **kwargs)

    return wrapper


def _task_or_404(request, pk):
    task = selectors.visible_task(request.user, pk)
    if task is None:
        raise Http404
    return task


@resident_page
def task_square(request, person):
    tab = "new" if request.GET.get("tab") == "new" else "near"
    context = {
        "tab": tab,
        "tasks": selectors.task_square(person, tab=tab),
        "person": person,
        "balances": selectors.balances(person),
    }
    if request.headers.get("HX-Request"):
        return render(request, "points/task_square.html#task-list", context)
    return render(request, "points/task_square.html", context)


@login_required
def task_detail(request, pk):
    task = _task_or_404(request, pk)
    person = person_of(request.user)
    claim = Claim.objects.filter(task=task, person=person).first() if person else None
    is_owner = person is not None and task.beneficiary_id == person.pk
    context = {
        "task": task,
        "claim": claim,
        "is_owner": is_owner,
        "is_staff_view": has_perm(request.user, P.VIEW, task.region_code),
        "can_claim": (
            person is not None
            and has_perm(request.user, P.PARTICIPATE)
            and not is_owner
            and task.publisher_id != request.user.pk
            and task.status == TaskStatus.PUBLISHED
            and (claim is None or claim.status == ClaimStatus.WITHDRAWN)
        ),
        "claims": selectors.task_claims(task) if is_owner else [],
        "code_form": CodeForm(initial={"code": request.GET.get("code", "")}),
    }
    return render(request, "points/task_detail.html", context)


@require_POST
@resident_page
def task_claim(request, person, pk):
    task = _task_or_404(request, pk)
    run(
        request,
        lambda: services.task_claim(actor=request.user, task=task),
        success=_("认领成功！请按时到场，向发布人索取签到码。"),
    )
    return redirect("points:task", pk=task.pk)


@require_POST
@resident_page
def claim_withdraw(request, person, pk):
    task = _task_or_404(request, pk)
    claim = Claim.objects.filter(task=task, person=person).first()
    if claim is None:
        raise Http404
    run(
        request,
        lambda: services.claim_withdraw(actor=request.user, claim=claim),
        success=_("已取消报名。"),
    )
    return redirect("points:task", pk=task.pk)


@resident_page
def task_check(request, person, pk):
    """Check in / out with the publisher's code (the QR code opens this page with ?code=)."""
    task = _task_or_404(request, pk)
    if request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            claim = run(
                request,
                lambda: services.claim_check(
                    actor=request.user, task=task, code=form.cleaned_data["code"]
                ),
            )
            if claim:
                messages.success(
                    request,
                    _("签到成功！")
                    if claim.status == ClaimStatus.CHECKED_IN
                    else _("签退成功，等待确认后积分到账。"),
                )
        else:
            form_errors(request, form)
    target = reverse("points:task", args=[task.pk])
    code = request.GET.get("code", "")
    return redirect(f"{target}?code={code}" if code.isdigit() else target)


@require_POST
@login_required
def claim_confirm(request, pk):
    """The beneficiary (or staff) confirms one claim."""
    claim = selectors.confirmable_claim(request.user, pk)
    if claim is None:
        raise Http404
    run(
        request,
        lambda: services.claim_confirm(actor=request.user, claim=claim),
        success=_("已确认完成，积分已发放。"),
    )
    return redirect(request.POST.get("next") or reverse("points:task", args=[claim.task_id]))


@login_required
def task_codes(request, pk):
    """The publisher's check-in / check-out codes, big, with QR codes to scan."""
    task = _task_or_404(request, pk)
    person = person_of(request.user)
    is_owner = person is not None and task.beneficiary_id == person.pk
    if not (is_owner or has_perm(request.user, P.CONFIRM, task.region_code)):
        raise Http404
    base = request.build_absolute_uri(reverse("points:task-check", args=[task.pk]))
    return render(
        request,
        "points/task_codes.html",
        {
            "task": task,
            "checkin_qr": checkin_qr(task, CheckinPurpose.CHECKIN, url=base),
            "checkout_qr": checkin_qr(task, CheckinPurpose.CHECKOUT, url=base),
        },
    )


@resident_page
def my_tasks(request, person):
    return render(
        request,
        "points/my_tasks.html",
        {"claims": selectors.my_claims(person), "requests": selectors.my_help_requests(person)},
    )


@resident_page
def me(request, person):
    before = request.GET.get("before")
    entries = selectors.history(person, before=int(before) if str(before).isdigit() else None)
    context = {
        "person": person,
        "balances": selectors.balances(person),
        "entries": entries,
        "next_before": entries[-1].pk if len(entries) == 20 else None,
    }
    if request.headers.get("HX-Request"):
        return render(request, "points/me.html#history-rows", context)
    return render(request, "points/me.html", context)


@require_POST
@resident_page
def paycode(request, person):
    kind = request.POST.get("point_kind", PointKind.VOLUNTEER)
    code = run(request, lambda: services.paycode_issue(actor=request.user, point_kind=kind))
    if not code:
        return redirect("points:me")
    return render(
        request,
        "points/paycode.html",
        {"code": code, "qr": qr_data_uri(code.code), "balances": selectors.balances(person)},
    )


@resident_page
def store(request, person):
    shop = selectors.store_for(person)
    items = selectors.store_items(shop) if shop else []
    used = selectors.month_used(person, shop) if shop else {}
    for item in items:
        # Read by the template only; not fields of the model.
        item.used = used.get(item.pk, 0)  # type: ignore[attr-defined]
        item.left = max(0, item.monthly_limit - item.used)  # type: ignore[attr-defined]
    return render(
        request,
        "points/store.html",
        {
            "store": shop,
            "items": items,
            "balances": selectors.balances(person),
            "request_key": new_request_key(),
        },
    )


@require_POST
@resident_page
def redeem(request, person, pk):
    item = selectors.visible_store_item(request.user, pk)
    if item is None:
        raise Http404
    order = run(
        request,
        lambda: services.order_redeem(
            actor=request.user,
            item=item,
            quantity=request.POST.get("quantity", "1"),
            point_kind=request.POST.get("point_kind", PointKind.VOLUNTEER),
            request_key=request.POST.get("request_key", ""),
        ),
    )
    if not order:
        return redirect("points:store")
    messages.success(
        request,
        _("兑换成功！取货码 %(code)s，请到爱心超市出示领取。") % {"code": order.pickup_code},
    )
    return redirect("points:orders")


def item_photo(request, pk):
    """Item photos are for the people who may see the item (its community, staff in scope);
    media is never served directly."""
    if not request.user.is_authenticated:
        raise Http404
    item = selectors.visible_store_item(request.user, pk)
    if item is None or not item.photo:
        raise Http404
    try:
        return FileResponse(item.photo.open("rb"), content_type="image/jpeg")
    except FileNotFoundError:
        raise Http404 from None


@resident_page
def orders(request, person):
    rows = selectors.my_orders(person)
    for order in rows:
        qr = qr_data_uri(order.pickup_code, scale=4) if order.status == "pending" else ""
        order.qr = qr  # type: ignore[attr-defined]  # read by the template only
    return render(request, "points/orders.html", {"orders": rows})


@require_POST
@resident_page
def order_cancel(request, person, pk):
    order = (
        Order.objects.select_related("item", "store", "person").filter(pk=pk, person=person).first()
    )
    if order is None:
        raise Http404
    run(
        request,
        lambda: services.order_cancel(actor=request.user, order=order),
        success=_("已取消兑换，积分已退回。"),
    )
    return redirect("points:orders")


@resident_page
def help_new(request, person):
    form = HelpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        task = run(
            request,
            lambda: services.help_request_create(
                actor=request.user,
                title=data["title"],
                category=data["category"],
                description=data["description"],
                address=data["address"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                points=data["points"],
                hours=data["hours"],
                quota=data["quota"],
            ),
            success=_("求助已发布，酬谢积分已托管。"),
        )
        if task:
            return redirect("points:task", pk=task.pk)
    return render(
        request,
        "points/help_new.html",
        {"form": form, "balances": selectors.balances(person), "kind": TaskKind.HELP},
    )


@login_required
def leaderboard(request):
    """The old 志愿排行 address (bookmarks): people are not ranked (国办函〔2026〕12号)."""
    return redirect("points:recognition")


@login_required
def recognition(request):
    """志愿星级: one's own level by hours thresholds, and volunteer service compared by unit
    (community/village) — never a list of people ordered by points or hours."""
    if not has_perm(request.user, P.RECOGNITION):
        raise Http404
    person = person_of(request.user)
    # The superuser holds every permission but is nobody's volunteer: the city's comparison.
    resident = not request.user.is_superuser and has_perm(request.user, P.PARTICIPATE)
    if resident:
        home = person.region_code if person is not None else _resident_grid(request.user)
        prefixes = [home[:9]] if home else []  # the communities of one's own township
    else:
        codes = scope_codes(request.user, P.RECOGNITION)
        prefixes = [settings.SHEQU_CITY_CODE] if codes is EVERYTHING else list(codes)
    if not prefixes:
        raise Http404
    this_year = clock.today().year
    try:
        year = int(request.GET.get("year") or this_year)
    except ValueError:
        year = this_year
    if not this_year - 10 <= year <= this_year:
        year = this_year
    return render(
        request,
        "points/recognition.html",
        {
            "mine": selectors.my_recognition(person) if resident and person else None,
            "units": selectors.unit_comparison(prefixes, year),
            "home_unit": person.region_code[:12] if resident and person else "",
            "year": year,
            "years": list(range(this_year, this_year - 5, -1)),
        },
    )


def _resident_grid(user) -> str:
    """The grid of a resident's assignment (when the login has no registry record yet)."""

    return next((a.scope_code for a in user_assignments(user) if a.role == "resident"), "")


@resident_page
def certificate(request, person):
    start, end = selectors.default_period()
    start = selectors.parse_date(request.GET.get("start"), start)
    end = selectors.parse_date(request.GET.get("end"), end)
    return render(request, "points/certificate.html", selectors.certificate(person, start, end))
