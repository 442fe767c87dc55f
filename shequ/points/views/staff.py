"""Staff pages: publish and manage tasks, confirm completions, grant 荣誉 points, the store
(stock-in, orders, pickup), merchant settlement, reports (pools, funding, 账物相符, adjustments),
the volunteer-service certificate of a person, and the merchant's till."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shequ.core.audit import audit_record
from shequ.core.regions import Level
from shequ.core.scoping import (
    get_scoped_or_404,
    has_perm,
    require_page_perm,
    scoped,
)
from shequ.geo.models import Region
from shequ.people.models import Person
from shequ.points import clock, ledger, selectors, services
from shequ.points import permissions as P
from shequ.points.choices import AccountKind, ClaimStatus, OrderStatus, TaskStatus
from shequ.points.forms import (
    AdjustForm,
    FundingForm,
    HonourForm,
    ItemForm,
    ReasonForm,
    StockInForm,
    TaskForm,
    TillForm,
)
from shequ.points.models import (
    Account,
    Claim,
    FundingRecord,
    Merchant,
    Order,
    Store,
    StoreItem,
    Task,
)
from shequ.points.views.common import form_errors, run


def _task(request, pk, perm=P.VIEW) -> Task:
    return get_scoped_or_404(
        Task.objects.select_related("funding_account", "beneficiary", "publisher"),
        request.user,
        perm,
        pk=pk,
    )


def _region_choices(user) -> list[tuple[str, str]]:
    """Grids and communities where the user may publish tasks."""
    regions = scoped(
        Region.objects.filter(level__in=(Level.COMMUNITY, Level.GRID)),
        user,
        P.MANAGE_TASKS,
        field="code",
    )
    regions = regions.select_related("parent").order_by("code")[:300]
    return [
        (
            r.code,
            f"{r.parent.name} · {r.name}"
            if r.level == Level.GRID and r.parent is not None
            else r.name,
        )
        for r in regions
    ]


@login_required
def manage_tasks(request):
    require_page_perm(request.user, P.MANAGE_TASKS)
    status = request.GET.get("status", "")
    tasks = selectors.staff_tasks(request.user, status=status, q=request.GET.get("q", ""))
    return render(
        request,
        "points/manage_tasks.html",
        {
            "tasks": list(tasks.select_related("funding_account")[:100]),
            "status": status,
            "statuses": TaskStatus.choices,
            "pending": selectors.pending_confirmations(request.user),
        },
    )


@login_required
def task_new(request):
    require_page_perm(request.user, P.MANAGE_TASKS)
    form = TaskForm(request.POST or None, regions=_region_choices(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        task = run(
            request,
            lambda: services.task_create(
                actor=request.user,
                kind=data["kind"],
                title=data["title"],
                category=data["category"],
                region_code=data["region_code"],
                address=data["address"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                quota=data["quota"],
                point_kind=data["point_kind"],
                points_per_person=data["points_per_person"],
                hours_per_person=data["hours_per_person"],
                description=data["description"],
                publish=data["publish"],
            ),
            success=_("任务已保存。"),
        )
        if task:
            return redirect("points:manage-task", pk=task.pk)
    return render(request, "points/task_form.html", {"form": form})


@login_required
def manage_task(request, pk):
    task = _task(request, pk)
    claims = selectors.task_claims(task)
    escrow = Account.objects.filter(kind=AccountKind.ESCROW, task=task).first()
    return render(
        request,
        "points/manage_task.html",
        {
            "task": task,
            "claims": claims,
            "escrow": escrow,
            "can_manage": has_perm(request.user, P.MANAGE_TASKS, task.region_code),
            "can_confirm": has_perm(request.user, P.CONFIRM, task.region_code),
            "can_honour": has_perm(request.user, P.HONOUR, task.region_code)
            and clock.now() >= task.starts_at,  # no 荣誉 points before the task has begun
            "honour_form": HonourForm(
                initial={"points": task.points_per_person, "hours": task.hours_per_person}
            ),
            "reason_form": ReasonForm(),
            "active": (ClaimStatus.CLAIMED, ClaimStatus.CHECKED_IN, ClaimStatus.CHECKED_OUT),
        },
    )


@require_POST
@login_required
def task_action(request, pk, action):
    task = _task(request, pk)
    actions = {
        "publish": (
            lambda: services.task_publish(actor=request.user, task=task),
            _("任务已发布。"),
        ),
        "complete": (
            lambda: services.task_complete(actor=request.user, task=task),
            _("任务已完成，剩余积分已退回。"),
        ),
        "cancel": (
            lambda: services.task_cancel(
                actor=request.user, task=task, reason=request.POST.get("reason", "")
            ),
            _("任务已取消，托管积分已退回。"),
        ),
    }
    if action not in actions:
        raise Http404
    call, success = actions[action]
    run(request, call, success=success)
    if task.kind == "help" and not has_perm(request.user, P.VIEW, task.region_code):
        return redirect("points:task", pk=task.pk)
    return redirect("points:manage-task", pk=task.pk)


def _claim(request, pk, perm) -> Claim:
    return get_scoped_or_404(
        Claim.objects.select_related("task", "person"),
        request.user,
        perm,
        field="task__region_code",
        pk=pk,
    )


@require_POST
@login_required
def claim_honour(request, pk):
    claim = _claim(request, pk, P.HONOUR)
    form = HonourForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        run(
            request,
            lambda: services.claim_grant_honour(
                actor=request.user,
                claim=claim,
                points=data["points"],
                hours=data["hours"],
                reason=data["reason"],
            ),
            success=_("荣誉积分已发放并记入审计日志。"),
        )
    else:
        form_errors(request, form)
    return redirect("points:manage-task", pk=claim.task_id)


@login_required
def person_certificate(request, pk):
    """A person's 志愿服务记录证明, printed by staff (audited: it shows the full name)."""

    require_page_perm(request.user, P.VIEW)
    person = get_scoped_or_404(Person.objects.all(), request.user, P.VIEW, pk=pk)
    start, end = selectors.default_period()
    start = selectors.parse_date(request.GET.get("start"), start)
    end = selectors.parse_date(request.GET.get("end"), end)
    audit_record(
        actor=request.user,
        action="points.certificate_print",
        obj=person,
        request=request,
        details={"start": start.isoformat(), "end": end.isoformat()},
    )
    context = selectors.certificate(person, start, end)
    context["staff_view"] = True
    return render(request, "points/certificate.html", context)


# ---------------------------------------------------------------------------------------------
# Store


def _store(request) -> Store | None:
    stores = list(selectors.staff_stores(request.user))
    wanted = request.GET.get("store") or request.POST.get("store")
    for store in stores:
        if str(store.pk) == str(wanted):
            return store
    return stores[0] if stores else None


@login_required
def manage_store(request):
    require_page_perm(request.user, P.MANAGE_STORE)
    store = _store(request)
    status = request.GET.get("status", OrderStatus.PENDING)
    context = {
        "stores": list(selectors.staff_stores(request.user)),
        "store": store,
        "status": status,
        "statuses": OrderStatus.choices,
        "item_form": ItemForm(),
        "stock_form": StockInForm(),
    }
    if store is not None:
        context.update(
            items=selectors.store_items(store, active_only=False),
            orders=selectors.staff_orders(request.user, store, status=status),
            reconciliation=selectors.reconciliation(store),
        )
    return render(request, "points/manage_store.html", context)


def _store_url(store) -> str:
    return reverse("points:manage-store") + f"?store={store.pk}"


@require_POST
@login_required
def item_new(request):
    require_page_perm(request.user, P.MANAGE_STORE)
    store = _store(request)
    if store is None:
        raise Http404
    form = ItemForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        run(
            request,
            lambda: services.store_item_create(
                actor=request.user,
                store=store,
                name=data["name"],
                price=data["price"],
                monthly_limit=data["monthly_limit"],
                category=data["category"],
                description=data["description"],
                value_yuan=data["value_yuan"],
                initial_stock=data["initial_stock"],
                donor=data["donor"],
                photo=data["photo"],
            ),
            success=_("物品已上架。"),
        )
    else:
        form_errors(request, form)
    return redirect(_store_url(store))


def _item(request, pk) -> StoreItem:
    return get_scoped_or_404(
        StoreItem.objects.select_related("store"),
        request.user,
        P.MANAGE_STORE,
        field="store__region_code",
        pk=pk,
    )


@require_POST
@login_required
def item_stock_in(request, pk):
    item = _item(request, pk)
    form = StockInForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        run(
            request,
            lambda: services.stock_in(actor=request.user, item=item, **data),
            success=_("已入库。"),
        )
    else:
        form_errors(request, form)
    return redirect(_store_url(item.store))


@require_POST
@login_required
def item_toggle(request, pk):
    item = _item(request, pk)
    run(
        request,
        lambda: services.store_item_update(
            actor=request.user, item=item, is_active=not item.is_active
        ),
        success=_("已下架。") if item.is_active else _("已上架。"),
    )
    return redirect(_store_url(item.store))


@require_POST
@login_required
def pickup(request):
    require_page_perm(request.user, P.MANAGE_STORE)
    store = _store(request)
    if store is None:
        raise Http404
    order = run(
        request,
        lambda: services.order_pickup(
            actor=request.user, store=store, code=request.POST.get("code", "")
        ),
    )
    if order:
        messages.success(
            request,
            _("已发放：%(item)s ×%(n)s（%(name)s）")
            % {"item": order.item.name, "n": order.quantity, "name": order.person.masked_name},
        )
    return redirect(_store_url(store))


def _order(request, pk) -> Order:
    return get_scoped_or_404(
        Order.objects.select_related("item", "store", "person"),
        request.user,
        P.MANAGE_STORE,
        pk=pk,
    )


@require_POST
@login_required
def order_pickup(request, pk):
    order = _order(request, pk)
    run(
        request,
        lambda: services.order_confirm_pickup(actor=request.user, order=order),
        success=_("已确认领取。"),
    )
    return redirect(_store_url(order.store))


@require_POST
@login_required
def order_cancel(request, pk):
    order = _order(request, pk)
    run(
        request,
        lambda: services.order_cancel(
            actor=request.user, order=order, reason=request.POST.get("reason", "")
        ),
        success=_("订单已取消，积分和库存已退回。"),
    )
    return redirect(_store_url(order.store))


# ---------------------------------------------------------------------------------------------
# Merchants


@login_required
def manage_merchants(request):
    require_page_perm(request.user, P.MANAGE_MERCHANTS)
    month = selectors.parse_month(request.GET.get("month"))
    return render(
        request,
        "points/manage_merchants.html",
        {
            "month": month,
            "rows": selectors.settlement_report(request.user, month),
            "can_settle": month < clock.today().replace(day=1),
        },
    )


@require_POST
@login_required
def merchant_settle(request, pk):
    merchant = get_scoped_or_404(Merchant.objects.all(), request.user, P.MANAGE_MERCHANTS, pk=pk)
    month = selectors.parse_month(request.POST.get("month"))
    run(
        request,
        lambda: services.merchant_settle(actor=request.user, merchant=merchant, month=month),
        success=_("已结算。"),
    )
    return redirect(reverse("points:manage-merchants") + f"?month={month:%Y-%m}")


@login_required
def till(request):
    if not request.user.is_superuser:
        require_page_perm(request.user, P.MERCHANT_TILL)
    merchants = selectors.till_merchants(request.user)
    if not merchants:
        return render(request, "points/till.html", {"merchant": None})
    merchant = next(
        (m for m in merchants if str(m.pk) == request.POST.get("merchant")), merchants[0]
    )
    payment = None
    form = TillForm(request.POST or None, initial={"merchant": merchant.pk})
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            payment = run(
                request,
                lambda: services.merchant_redeem(
                    actor=request.user,
                    merchant=merchant,
                    code=data["code"],
                    points=data["points"],
                    description=data["description"],
                ),
            )
            if payment:
                messages.success(
                    request,
                    _("收款成功：%(points)s 积分，抵扣 %(yuan)s 元。")
                    % {"points": payment.points, "yuan": payment.yuan},
                )
                return redirect("points:till")
        else:
            form_errors(request, form)
    return render(
        request,
        "points/till.html",
        {
            "merchant": merchant,
            "form": form,
            "payments": selectors.recent_payments(merchant),
        },
    )


# ---------------------------------------------------------------------------------------------
# Reports, pools and adjustments


@login_required
def reports(request):
    require_page_perm(request.user, P.REPORTS)
    pools = list(selectors.pools_for(request.user))
    stores = list(scoped(Store.objects.all(), request.user, P.REPORTS))
    checked = [p.pk for p in pools] + [
        a.pk for a in Account.objects.filter(kind=AccountKind.STORE, store__in=stores)
    ]
    return render(
        request,
        "points/reports.html",
        {
            "summary": selectors.report_summary(request.user),
            "pools": pools,
            "fundings": list(
                scoped(FundingRecord.objects.select_related("pool"), request.user, P.REPORTS)[:20]
            ),
            "reconciliations": [selectors.reconciliation(s) for s in stores[:5]],
            "violations": ledger.ledger_violations(account_ids=checked),
            "can_fund": has_perm(request.user, P.FUND),
            "can_adjust": has_perm(request.user, P.ADJUST),
            "funding_form": FundingForm(),
            "adjust_form": AdjustForm(),
            "accounts": selectors.community_accounts(request.user, q=request.GET.get("q", ""))
            if has_perm(request.user, P.ADJUST)
            else [],
            "q": request.GET.get("q", ""),
            "city": settings.SHEQU_CITY_CODE,
        },
    )


@require_POST
@login_required
def fund(request):
    require_page_perm(request.user, P.FUND)
    form = FundingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        pool = get_scoped_or_404(
            Account.objects.filter(kind=AccountKind.POOL), request.user, P.FUND, pk=data["pool"]
        )
        run(
            request,
            lambda: services.pool_fund(
                actor=request.user,
                pool=pool,
                funder_kind=data["funder_kind"],
                funder_name=data["funder_name"],
                amount=data["amount"],
                yuan=data["yuan"],
                note=data["note"],
                request_key=request.POST.get("request_key") or None,
            ),
            success=_("注资已登记。"),
        )
    else:
        form_errors(request, form)
    return redirect("points:reports")


@require_POST
@login_required
def adjust(request):
    require_page_perm(request.user, P.ADJUST)
    form = AdjustForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        account = get_scoped_or_404(
            Account.objects.filter(kind=AccountKind.RESIDENT).select_related("person"),
            request.user,
            P.ADJUST,
            field="person__region_code",
            pk=data["account"],
        )
        person = account.person
        if person is None:  # a resident account always has its person (a constraint)
            raise Http404
        run(
            request,
            lambda: services.account_adjust(
                actor=request.user,
                person=person,
                amount=data["amount"],
                reason=data["reason"],
                point_kind=account.point_kind,
                request_key=request.POST.get("request_key") or None,
            ),
            success=_("积分已调整并记入审计日志。"),
        )
    else:
        form_errors(request, form)
    return redirect("points:reports")
