"""Open311 GeoReport v2 at /open311/v2/ (JSON and XML), its OpenAPI description, and the human
page /open311/. Views parse and check parameters, call a selector or a service, and render;
every problem is the spec's error list in the requested format (400/403/404, 429 when a key is
over its rate limit)."""

import datetime as dt
import functools

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from shequ.core import ratelimit
from shequ.core.errors import ServiceError
from shequ.core.params import EARLIEST_DATE, LATEST_DATE
from shequ.open311 import docs, keys, openapi, representation, selectors, services
from shequ.open311.formats import (
    FORMATS,
    Open311Error,
    error_response,
    format_of_path,
)
from shequ.open311.formats import render as render_as

MAX_SPAN = dt.timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_IDS = 1000
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-27T00:00:00+08:00"


def jurisdictions() -> set[str]:
    return {"", settings.SHEQU_CITY_CODE, settings.SHEQU_OPEN311_JURISDICTION}


def endpoint(*methods):
    """Check the format, method and jurisdiction; turn errors into the spec's error list."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, fmt: str = "json", **kwargs):
            if fmt not in FORMATS:
                return error_response(
                    "json",
                    Open311Error(
                        404, _("不支持的格式 .%(f)s（仅支持 .json 与 .xml）。") % {"f": fmt[:10]}
                    ),
                )
            try:
                if request.method not in methods:
                    error = Open311Error(405, _("不支持 %(m)s 方法。") % {"m": request.method})
                    error.headers["Allow"] = ", ".join(methods)
                    raise error
                params = _params(request)
                jurisdiction = params.get("jurisdiction_id", "").strip()
                if jurisdiction not in jurisdictions():
                    raise Open311Error(
                        404, _("未知的 jurisdiction_id：%(j)s。") % {"j": jurisdiction[:60]}
                    )
                return view(request, params, fmt, *args, **kwargs)
            except Open311Error as error:
                return error_response(fmt, error)
            except ratelimit.RateLimited as exc:
                return error_response(
                    fmt,
                    Open311Error(429, exc.message, headers={"Retry-After": str(exc.retry_after)}),
                )
            except ServiceError as exc:
                status = exc.status if exc.status in (403, 404) else 400
                return error_response(fmt, Open311Error(status, exc.message))

        return wrapper

    return decorate


def _params(request):
    """Query parameters for GET; the form body (falling back to the query) for POST."""
    if request.method != "POST":
        return request.GET
    content_type = (request.content_type or "").lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(
            400,
            _("请以 application/x-www-form-urlencoded 表单提交（当前为 %(t)s）。")
            % {"t": content_type[:60] or "—"},
        )
    try:
        form = request.POST.copy()
    except (
        MultiPartParserError,
        UnicodeDecodeError,
        TooManyFieldsSent,
        RequestDataTooBig,
        BadRequest,
        ValueError,
    ):
        raise Open311Error(400, _("无法解析请求表单。")) from None
    for name, values in request.GET.lists():
        if name not in form:
            form.setlist(name, values)
    return form


def _key(params, *, required: bool):
    plaintext = params.get("api_key", "").strip()
    key = keys.api_key_authenticate(plaintext)
    if key is None:
        if required:
            if plaintext:
                raise Open311Error(403, _("api_key 无效或已撤销。"))
            raise Open311Error(403, _("缺少 api_key：提交服务请求需要应用密钥。"))
        return None
    keys.check_rate(key)
    return key


def _bad_key_limit(request) -> None:
    """POSTs without a valid key count per address (slows down guessing keys)."""
    ratelimit.check(request, "open311_post")


def _date(params, name: str):
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if " " in raw and "T" in raw:  # an unencoded "+08:00" arrives as " 08:00"
        raw = raw.replace(" ", "+")
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw) if len(raw) == 10 else None
        if day is None:
            raise ValueError(name)
        value = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _in_range(value: dt.datetime) -> bool:
    try:
        day = value.astimezone(dt.UTC).date()
    except OverflowError:
        return False
    return EARLIEST_DATE <= day <= LATEST_DATE


def _window(params):
    try:
        start, end = _date(params, "start_date"), _date(params, "end_date")
    except (ValueError, OverflowError) as exc:
        raise Open311Error(
            400,
            _("%(name)s 不是有效的 ISO 8601 日期时间（如 2026-11-01T00:00:00+08:00）。")
            % {
                "name": str(exc)
                if str(exc) in ("start_date", "end_date")
                else "start_date/end_date"
            },
        ) from None
    try:
        end = end or timezone.now()
        start = start or end - MAX_SPAN
    except OverflowError:
        raise Open311Error(400, _("start_date/end_date 超出范围。")) from None
    if not (_in_range(start) and _in_range(end)):  # 9999-12-31T23:59:59-12:00 is year 10000 UTC
        raise Open311Error(400, _("start_date/end_date 超出范围。"))
    if end < start:
        raise Open311Error(400, _("end_date 不能早于 start_date。"))
    if end - start > MAX_SPAN:
        raise Open311Error(400, _("start_date 与 end_date 相隔不能超过 90 天。"))
    return start, end


def _list(params, name: str, *, max_length: int = 20) -> list[str] | None:
    raw = params.get(name, "")
    if not raw.strip():
        return None
    items = [part.strip() for part in raw.split(",") if part.strip()]
    if len(items) > MAX_IDS or any(len(item) > max_length for item in items):
        raise Open311Error(400, _("%(name)s 列表过长或含过长的值。") % {"name": name})
    return items


def _page(params) -> tuple[int, int]:
    try:
        page = int(params.get("page", "1") or 1)
        size = int(params.get("page_size", str(MAX_PAGE_SIZE)) or MAX_PAGE_SIZE)
    except ValueError:
        raise Open311Error(400, _("page 与 page_size 应为正整数。")) from None
    if page < 1 or page > 100_000 or not 1 <= size <= MAX_PAGE_SIZE:
        raise Open311Error(400, _("page 应 ≥ 1，page_size 应在 1–1000 之间。"))
    return page, size


# --- resources -------------------------------------------------------------------------------


@endpoint("GET")
def discovery(request, params, fmt):
    base = request.build_absolute_uri("/open311/v2/")
    data = {
        "changeset": CHANGESET,
        "contact": _("丹阳市智慧社区治理平台 · 服务热线 12345"),
        "key_service": _("应用密钥由市级管理员在管理后台签发：%(url)s")
        % {"url": request.build_absolute_uri("/open311/")},
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render_as(fmt, data, root="discovery", item=None)


@endpoint("GET")
def service_list(request, params, fmt):
    _key(params, required=False)
    rows = [representation.service(c) for c in selectors.services()]
    return render_as(fmt, rows, root="services", item="service")


@endpoint("GET")
def service_definition(request, params, fmt, code):
    _key(params, required=False)
    category = selectors.service(code) if len(code) <= 20 else None
    if category is None:
        raise Open311Error(404, _("未知的 service_code：%(code)s。") % {"code": code[:40]})
    return render_as(
        fmt, representation.service_definition(category), root="service_definition", item=None
    )


def _requests_payload(cases) -> list[dict]:
    cases = list(cases)
    units = selectors.unit_names(cases)
    notes = selectors.last_public_notes(cases)
    return [representation.request(c, unit_names=units, notes=notes) for c in cases]


@endpoint("GET", "POST")
def requests(request, params, fmt):
    if request.method == "POST":
        try:
            key = _key(params, required=True)
        except Open311Error:
            _bad_key_limit(request)
            raise
        row = services.request_create(key=key, form=params)
        return render_as(fmt, [row], root="service_requests", item="request", status=201)
    _key(params, required=False)
    ids = _list(params, "service_request_id")
    page, size = _page(params)
    if ids is not None:
        qs = selectors.requests(ids=ids)
    else:
        codes = _list(params, "service_code")
        for code in codes or []:
            if selectors.service(code) is None:
                raise Open311Error(404, _("未知的 service_code：%(code)s。") % {"code": code})
        statuses = _list(params, "status")
        if statuses and any(s.lower() not in ("open", "closed") for s in statuses):
            raise Open311Error(400, _("status 只能是 open 或 closed。"))
        start, end = _window(params)
        qs = selectors.requests(
            service_codes=codes,
            start=start,
            end=end,
            statuses=[s.lower() for s in statuses or []],
        )
    rows = _requests_payload(qs[(page - 1) * size : page * size])
    return render_as(fmt, rows, root="service_requests", item="request")


@endpoint("GET")
def request_detail(request, params, fmt, request_id):
    _key(params, required=False)
    case = selectors.case_by_code(request_id) if len(request_id) <= 20 else None
    if case is None:
        raise Open311Error(404, _("未找到服务请求 %(id)s。") % {"id": request_id[:40]})
    return render_as(fmt, _requests_payload([case]), root="service_requests", item="request")


@endpoint("GET")
def token(request, params, fmt, token):
    """Requests are created at once (never queued), so a request's token is its id."""
    case = selectors.case_by_code(token) if len(token) <= 20 else None
    if case is None:
        raise Open311Error(404, _("未找到令牌 %(t)s。") % {"t": token[:40]})
    rows = [{"service_request_id": case.code, "token": token}]
    return render_as(fmt, rows, root="service_requests", item="request")


@endpoint("GET", "POST")
def updates(request, params, fmt):
    if request.method == "POST":
        try:
            key = _key(params, required=True)
        except Open311Error:
            _bad_key_limit(request)
            raise
        row = services.update_create(key=key, form=params)
        return render_as(
            fmt, [row], root="service_request_updates", item="request_update", status=201
        )
    _key(params, required=False)
    ids = _list(params, "service_request_id")
    page, size = _page(params)
    start, end = (None, None) if ids is not None else _window(params)
    qs = selectors.updates(ids=ids, start=start, end=end)
    rows = [representation.update(e) for e in qs[(page - 1) * size : page * size]]
    return render_as(fmt, rows, root="service_request_updates", item="request_update")


@csrf_exempt
def not_found(request, rest=""):
    return error_response(
        format_of_path(request.path), Open311Error(404, _("Open311 没有这个资源。"))
    )


def openapi_json(request):
    return JsonResponse(
        openapi.description(request),
        json_dumps_params={"ensure_ascii": False},
        content_type="application/json; charset=utf-8",
    )


def page(request):
    """/open311/: what the endpoint offers, with a curl example for every call."""
    return render(request, "open311/page.html", docs.page_context(request))
