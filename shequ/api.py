"""The JSON API at /api/v1/ (django-ninja). Each app contributes `router` from its `api.py`.

Errors always have the shape {"code": …, "message": …, "details": …} with the right status.
Extreme input is 400, never 500: a JSON body nested too deep is `body_too_deep` (the parser is
depth-checked, shequ/core/sanitize.py), a date outside 1900–2999 is `invalid_date`, any other
value the database or the calendar cannot represent (OverflowError) is `value_out_of_range`.
An empty request body (zero bytes) is the empty JSON object.
"""

import logging
from importlib import import_module

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from shequ.accounts.auth import api_auth
from shequ.core.errors import ServiceError
from shequ.core.openapi import document_platform_behaviour
from shequ.core.sanitize import json_loads

logger = logging.getLogger("shequ.api")


class ReadableJSONRenderer(JSONRenderer):
    """UTF-8 JSON with Chinese text as characters, not \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


class DepthCheckedParser(Parser):
    """JSON bodies through `sanitize.json_loads`: too deep is `body_too_deep`, not a 500."""

    def parse_body(self, request):
        return json_loads(request.body)


class ShequAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return document_platform_behaviour(super().get_openapi_schema(*args, **kwargs))


api = ShequAPI(
    title="Shequ API",
    version="1",
    description="丹阳市智慧社区治理平台 API。认证：POST /api/v1/auth/token 获取令牌，"
    "之后在每个请求中加上 Authorization: Bearer <令牌>。",
    auth=api_auth,
    urls_namespace="api",
    renderer=ReadableJSONRenderer(),
    parser=DepthCheckedParser(),
)

PYDANTIC_MESSAGES = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限数字",
    "string_type": "应为文本",
    "string_too_long": "文本过长",
    "string_too_short": "文本过短",
    "bool_parsing": "应为 true 或 false",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_out_of_range": "日期超出范围（1900-01-01 至 2999-12-31）",
    "datetime_parsing": "时间格式应为 ISO 8601",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "json_invalid": "JSON 格式错误",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_attributes_type": "应为对象",
    "too_long": "条目过多",
}


DATE_ERRORS = {"date_parsing", "date_from_datetime_parsing", "date_out_of_range"}


def error_body(code: str, message: str, details=None) -> dict:
    return {"code": code, "message": message, "details": details}


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    details = []
    types = set()
    for error in exc.errors:
        types.add(error.get("type", ""))
        loc = [str(part) for part in error.get("loc", ())]
        field = ".".join(loc[1:]) or (loc[0] if loc else "")
        details.append(
            {
                "field": field,
                "location": loc[0] if loc else "",
                "type": error.get("type", ""),
                "message": PYDANTIC_MESSAGES.get(error.get("type", ""), "取值无效"),
            }
        )
    if types and types <= DATE_ERRORS:
        body = error_body(
            "invalid_date", _("日期无效：格式应为 YYYY-MM-DD，且在 1900 至 2999 年之间。"), details
        )
    else:
        body = error_body("validation_error", _("请求参数有误。"), details)
    return api.create_response(request, body, status=400)


@api.exception_handler(ServiceError)
def on_service_error(request, exc: ServiceError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return api.create_response(
        request,
        error_body("unauthorized", _("需要有效的 API 令牌（Authorization: Bearer …）或登录。")),
        status=401,
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, ServiceError):  # the parser refused the body (body_too_deep)
        return on_service_error(request, exc.__cause__)
    if exc.status_code == 400:  # django-ninja could not parse the body
        body = error_body(
            "malformed_request", _("请求格式错误：请求体无法解析（应为有效的 JSON 或表单）。")
        )
    else:
        body = error_body(f"http_{exc.status_code}", str(exc))
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, error_body("not_found", _("未找到该资源。")), status=404)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return api.create_response(
        request, error_body("forbidden", _("您没有执行此操作的权限。")), status=403
    )


@api.exception_handler(OverflowError)
def on_overflow(request, exc):
    """A value no date, time or column can hold reached the database or the calendar."""
    logger.warning("value out of range on %s %s: %s", request.method, request.path, exc)
    return api.create_response(
        request, error_body("value_out_of_range", _("请求中的数值或日期超出范围。")), status=400
    )


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    logger.exception("unhandled API error on %s %s", request.method, request.path)
    return api.create_response(
        request, error_body("server_error", _("服务器内部错误，请稍后重试。")), status=500
    )


def _register_app_routers() -> None:
    for config in apps.get_app_configs():
        if not config.name.startswith("shequ."):
            continue
        try:
            module = import_module(f"{config.name}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.api":
                raise
            continue
        api.add_router(module.API_PREFIX, module.router)


_register_app_routers()
