"""Closed-loop pages: 随手拍, 我的诉求, the grid worker's inbox, case detail with actions, the
dispatch board, the verification queue, hotline entry; photos through a permission check.

Views parse, call a selector or a service, render. Service errors become Chinese messages.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shequ.cases import access, evidence, selectors, services
from shequ.cases.categories import resolve_category
from shequ.cases.forms import action_arguments, error_lines, report_arguments
from shequ.cases.models import Case, CasePhoto, Category
from shequ.cases.workflow import (
    STAFF_ENTRY_CHANNELS,
    Action,
    Channel,
    HandlerType,
    Satisfaction,
    Status,
)
from shequ.core.errors import InvalidInput, NotFoundError, PermissionDeniedError, ServiceError
from shequ.core.scoping import prefix_q, require_page_perm
from shequ.geo.mapdata import map_config
from shequ.geo.models import Estate, Region
from shequ.geo.resolve import home_building
from shequ.property.models import PropertyCompany

PAGE_SIZE = 50


def _map_config(user, focus=None, **extra) -> dict:
    """The map's configuration: opens on the user's grid/house/scope (or `focus`)."""
    return map_config(user, focus=focus, **extra)


# --- 随手拍 -----------------------------------------------------------------------------------


def _field_errors(exc: ServiceError) -> dict[str, str]:
    """Field errors by field; the location's (a point out of range, no place at all) under
    "location", a photo's (photos.0 …) under "photos"."""
    found: dict[str, str] = {}
    if isinstance(exc.details, list):
        for detail in exc.details:
            if isinstance(detail, dict) and "field" in detail:
                field = str(detail["field"])
                if field in ("lat", "lng", "crs"):
                    field = "location"
                elif field.startswith("photos."):
                    field = "photos"
                found.setdefault(field, detail.get("message", ""))
    return found


def _at_home(request, arguments: dict) -> None:
    """ "问题就在我家楼栋": the reporter's own building when no point or building was given."""
    if request.POST.get("at_home") and not arguments["building"] and arguments["lat"] is None:
        home = home_building(request.user)
        if home is not None:
            arguments["building"] = home.pk


def _location_context(request) -> dict:
    home = home_building(request.user)
    return {"home": home, "at_home": bool(request.POST.get("at_home")) and home is not None}


@login_required
def report(request):
    require_page_perm(request.user, "cases.report")
    channel = services.reporting_channel(request.user)
    errors: list[str] = []
    field_errors: dict[str, str] = {}
    drafts: list = []
    token = ""
    if request.method == "POST":
        arguments = report_arguments(request.POST, request.FILES)
        _at_home(request, arguments)
        # Photos kept from an earlier attempt (signed token) come first, then the new ones.
        kept = evidence.drafts_from_token(request.POST.get("draft_photos", ""), user=request.user)
        uploads = arguments["photos"]
        arguments["photos"] = evidence.draft_bytes(kept) + list(uploads)
        try:
            services.report_rate_check(actor=request.user, request=request)
            case = services.case_report(actor=request.user, channel=channel, **arguments)
        except ServiceError as exc:
            errors = error_lines(exc)
            field_errors = _field_errors(exc)
            token, drafts, _photo_errors = evidence.draft_photos_keep(
                user=request.user, token=request.POST.get("draft_photos", ""), uploads=uploads
            )
        else:
            evidence.drafts_discard(kept)
            messages.success(
                request,
                _("已提交，案件编号 %(code)s。我们会尽快处理。") % {"code": case.code},
            )
            return redirect("case-detail", pk=case.pk)
    selected = resolve_category(request.POST.get("category") or request.GET.get("category"))
    return render(
        request,
        "cases/report.html",
        {
            "groups": selectors.categories_tree(),
            "selected": selected,
            "attributes": list(selected.attributes.all()) if selected else [],
            "values": request.POST,
            "errors": errors,
            "field_errors": field_errors,
            "channel": channel,
            "draft_photos": token,
            "draft_thumbs": [evidence.draft_thumbnail_uri(d) for d in drafts],
            **_location_context(request),
            "map_config": _map_config(
                request.user,
                pick=True,
                lat=request.POST.get("lat") or None,
                lng=request.POST.get("lng") or None,
            ),
        },
        status=400 if errors else 200,
    )


@login_required
def report_attributes(request):
    """htmx: the extra fields of the chosen category."""
    category = resolve_category(request.GET.get("category"))
    return render(
        request,
        "cases/_attributes.html",
        {"selected": category, "attributes": list(category.attributes.all()) if category else []},
    )


@login_required
def report_duplicates(request):
    """htmx: open cases of the same category nearby (我也遇到)."""
    category = resolve_category(request.GET.get("category"))
    found = []
    try:
        lat, lng = float(request.GET.get("lat", "")), float(request.GET.get("lng", ""))
    except ValueError:
        category = None
    if category is not None:
        found = selectors.duplicate_candidates(
            category=category, lat=lat, lng=lng, user=request.user
        )
    return render(request, "cases/_duplicates.html", {"duplicates": found, "category": category})


# --- lists -----------------------------------------------------------------------------------


@login_required
def my_cases(request):
    cases = list(selectors.my_cases(request.user)[:100])
    return render(request, "cases/mine.html", {"cases": cases, "now": timezone.now()})


@login_required
def inbox(request):
    require_page_perm(request.user, "cases.handle")
    cases = list(selectors.inbox(request.user)[:PAGE_SIZE])
    return render(request, "cases/inbox.html", {"cases": cases, "now": timezone.now()})


@login_required
def board(request):
    require_page_perm(request.user, "cases.dispatch")
    tab = request.GET.get("tab", "reported")
    if tab not in selectors.BOARD_TABS:
        tab = "reported"
    category = request.GET.get("category") or None
    counts = selectors.board_counts(request.user)
    labels = [
        ("reported", _("待立案")),
        ("registered", _("待派遣")),
        ("overdue", _("已超期")),
        ("extension", _("延期待审")),
        ("escalated", _("已升级")),
        ("open", _("全部未结")),
    ]
    context = {
        "tab": tab,
        "tabs": [(key, label, counts[key]) for key, label in labels],
        "cases": list(selectors.board(request.user, tab, category=category)[:PAGE_SIZE]),
        "by_category": selectors.open_by_category(request.user),
        "category": category,
        "now": timezone.now(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "cases/board.html#board-list", context)
    return render(request, "cases/board.html", context)


@login_required
def verify_queue(request):
    require_page_perm(request.user, "cases.verify")
    cases = list(selectors.verification_queue(request.user)[:PAGE_SIZE])
    return render(request, "cases/verify.html", {"cases": cases, "now": timezone.now()})


@login_required
def case_list(request):
    require_page_perm(request.user, "cases.view")
    status = request.GET.get("status") or None
    region = request.GET.get("region") or None  # the cockpit's drill-down ends here
    if region and not (region.isdigit() and len(region) in (6, 9, 12, 15)):
        region = None
    cases = selectors.case_search(
        request.user, status=status, q=request.GET.get("q") or None, region=region
    )
    return render(
        request,
        "cases/list.html",
        {
            "cases": list(cases[:PAGE_SIZE]),
            "status": status,
            "statuses": Status.choices,
            "now": timezone.now(),
        },
    )


@login_required
def visit_list(request):
    """回访任务: the community's list of hotline/phone cases to call back after closure."""
    require_page_perm(request.user, "cases.visit")
    cases = list(selectors.visit_queue(request.user)[:PAGE_SIZE])
    return render(request, "cases/visits.html", {"cases": cases, "now": timezone.now()})


# --- hotline entry ----------------------------------------------------------------------------


@login_required
def hotline(request):
    require_page_perm(request.user, "cases.hotline")
    errors: list[str] = []
    field_errors: dict[str, str] = {}
    if request.method == "POST":
        arguments = report_arguments(request.POST, request.FILES)
        arguments.pop("photos")
        channel = request.POST.get("channel", Channel.HOTLINE)
        if channel not in STAFF_ENTRY_CHANNELS:
            channel = Channel.HOTLINE
        try:
            case = services.case_report(
                actor=request.user,
                channel=channel,
                source_ref=request.POST.get("source_ref", ""),
                contact_name=request.POST.get("contact_name", ""),
                contact_phone=request.POST.get("contact_phone", ""),
                **arguments,
            )
        except ServiceError as exc:
            errors = error_lines(exc)
            field_errors = _field_errors(exc)
        else:
            messages.success(request, _("已登记，案件编号 %(code)s。") % {"code": case.code})
            return redirect("case-detail", pk=case.pk)
    selected = resolve_category(request.POST.get("category"))
    return render(
        request,
        "cases/hotline.html",
        {
            "groups": selectors.categories_tree(),
            "selected": selected,
            "attributes": list(selected.attributes.all()) if selected else [],
            "values": request.POST,
            "errors": errors,
            "field_errors": field_errors,
            "channels": [(c.value, c.label) for c in Channel if c in STAFF_ENTRY_CHANNELS],
            "home": None,
            "map_config": _map_config(
                request.user,
                pick=True,
                lat=request.POST.get("lat") or None,
                lng=request.POST.get("lng") or None,
            ),
        },
        status=400 if errors else 200,
    )


# --- one case ---------------------------------------------------------------------------------


def _attribute_rows(case: Case) -> list[tuple[str, str]]:
    rows = []
    definitions = {a.code: a for a in case.category.attributes.all()}
    for code, value in (case.attributes or {}).items():
        attribute = definitions.get(code)
        if attribute is None:
            rows.append((code, str(value)))
            continue
        names = {str(v.get("key")): v.get("name") for v in attribute.values or []}
        values = value if isinstance(value, list) else [value]
        rows.append((attribute.name, "、".join(str(names.get(str(v), v)) for v in values)))
    return rows


def _detail_context(request, view, **extra) -> dict:
    case = view.case
    grid = (
        None
        if view.limited  # a follower's view has no grid (the public fields only)
        else Region.objects.filter(code=case.region_code).only("code", "name", "polygon").first()
    )
    actions = set(view.actions)
    return {
        "view": view,
        "case": case,
        "grid": grid,
        "now": timezone.now(),
        "actions": actions,
        "attribute_rows": [] if view.limited else _attribute_rows(case),
        "can_reveal_description": not view.limited
        and case.description_is_masked
        and services.may_reveal_description(request.user, case),
        "satisfaction_choices": Satisfaction.choices,
        "handler_types": HandlerType.choices,
        "categories": Category.objects.filter(parent__isnull=False, is_active=True).order_by("code")
        if Action.REGISTER in actions
        else [],
        "companies": PropertyCompany.objects.filter(
            pk__in=Estate.objects.filter(prefix_q("region_code", case.region_code[:12])).values(
                "property_company_id"
            )
        ).order_by("name")
        if Action.DISPATCH in actions
        else [],
        "map_config": _map_config(
            request.user,
            grid,
            marker={"lat": case.lat, "lng": case.lng} if case.lat is not None else None,
        )
        if not view.limited
        else None,
        **extra,
    }


@login_required
def case_detail(request, pk: int):
    view = selectors.case_for_user(request.user, pk)
    return render(request, "cases/detail.html", _detail_context(request, view))


@login_required
@require_POST
def case_act(request, pk: int, action: str):
    if action not in Action.values or action == Action.REPORT:
        return HttpResponseBadRequest()
    case = access.get_case_or_404(request.user, pk)
    params = action_arguments(action, request.POST, request.FILES)
    if action == Action.MERGE:
        target = access.find_merge_target(request.user, request.POST.get("into", ""))
        if target is None:
            messages.error(request, _("未找到合并目标案件（请填写案件编号）。"))
            return redirect("case-detail", pk=pk)
        params["into"] = target
    try:
        services.case_apply(action, case=case, actor=request.user, **params)
    except ServiceError as exc:
        for line in error_lines(exc):
            messages.error(request, line)
    else:
        messages.success(request, _("已完成：%(action)s。") % {"action": Action(action).label})
    target_url = reverse("case-detail", args=[pk])
    if (
        action in (Action.ACCEPT, Action.HANDLE, Action.RETURN)
        and not access.visible_cases(request.user).filter(pk=pk).exists()
    ):
        target_url = reverse("cases-inbox")
    return redirect(target_url)


@login_required
@require_POST
def case_follow_view(request, pk: int):
    case = access.get_followable_or_404(request.user, pk)
    try:
        services.case_follow(case=case, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        target = reverse("cases-report")
    else:
        messages.success(request, _("已关注该问题，办理进展会通知您，无需重复上报。"))
        target = reverse("cases-mine")
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


def _reveal_page(request, pk: int, reveal, shown: str):
    """A reveal (the caller's phone, the description's original): the service decides and
    audits; refused is 404 (nothing learnt), no reason is a message on the case page; the page
    showing the full text is never cached."""
    case = access.get_case_or_404(request.user, pk)
    try:
        text = reveal(
            actor=request.user, case=case, reason=request.POST.get("reason", ""), request=request
        )
    except (NotFoundError, PermissionDeniedError):
        raise Http404 from None
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect("case-detail", pk=pk)
    view = selectors.case_for_user(request.user, pk)
    response = render(request, "cases/detail.html", _detail_context(request, view, **{shown: text}))
    response["Cache-Control"] = "no-store"  # the full numbers must not stay in any cache
    return response


@login_required
@require_POST
def case_contact(request, pk: int):
    """Reveal the caller's phone number to staff who call back (回访): reason required, audited."""
    return _reveal_page(request, pk, services.case_reveal_contact_phone, "revealed_phone")


@login_required
@require_POST
def case_description_reveal(request, pk: int):
    """The description as the resident typed it (numbers unmasked): reason required, audited."""
    return _reveal_page(request, pk, services.case_reveal_description, "revealed_description")


def photo_response(user, photo_id: int, *, thumb: bool = False, case_id: int | None = None):
    """A case photo for someone who may see the case (else 404): never a public URL."""
    photo = (
        CasePhoto.objects.filter(pk=photo_id)
        .only("case_id", "path", "thumb_path", "content_type")
        .first()
    )
    if photo is None or (case_id is not None and photo.case_id != case_id):
        raise Http404
    view_case = access.visible_cases(user).filter(pk=photo.case_id).exists()
    if not view_case:
        raise Http404
    path = photo.thumb_path if thumb else photo.path
    try:
        handle = default_storage.open(path, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg" if thumb else photo.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response


@login_required
def photo(request, pk: int, thumb: bool = False):
    return photo_response(request.user, pk, thumb=thumb)


def due_text(value, now=None) -> str:
    """ "还剩 3 小时" / "已超期 2 天" for lists (clock time, for people)."""
    if value is None:
        return ""
    now = now or timezone.now()
    delta = value - now
    late = delta < dt.timedelta(0)
    seconds = abs(delta.total_seconds())
    if seconds >= 86400:
        amount = _("%(n)d 天") % {"n": seconds // 86400}
    elif seconds >= 3600:
        amount = _("%(n)d 小时") % {"n": seconds // 3600}
    else:
        amount = _("%(n)d 分钟") % {"n": max(1, seconds // 60)}
    return (_("已超期 %(t)s") if late else _("还剩 %(t)s")) % {"t": amount}
