"""What every operation of the JSON API may answer besides its own success response.

django-ninja documents only the responses an operation declares. Every operation can also
answer with the shared error shape ({code, message, details}: bad input, missing credentials,
no permission, not found, too large, too many requests), and creating requests take an
`Idempotency-Key` header (core/idempotency.py). `document_platform_behaviour()` adds that to the
OpenAPI description, so clients (and the schemathesis fuzzing in CI) know what to expect.
A request body whose fields all have defaults is optional: an empty body reads as `{}`
(shequ/core/sanitize.py), so it is documented as not required.
"""

from copy import deepcopy

from shequ.core.idempotency import METHODS

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "稳定的错误代码，如 validation_error"},
        "message": {"type": "string", "description": "中文说明"},
        "details": {"description": "字段错误等（可为 null）"},
    },
    "required": ["code", "message", "details"],
}
ERRORS = {
    "400": "请求参数有误",
    "403": "无权限",
    "404": "不存在或无权查看",
    "413": "请求内容过大",
    "429": "操作过于频繁或账号已锁定",
}
AUTH_ERRORS = {"401": "需要有效的令牌或登录"}
CREATE_ERRORS = {
    "401": "认证失败",
    "409": "冲突（如相同请求正在处理）",
    "422": "Idempotency-Key 已用于内容不同的请求",
    "503": "系统繁忙，请稍后重试（请求未被处理）",
}
IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "重试安全：相同的键和请求体返回首次的响应，不会重复创建（1–200 个可打印字符）",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_platform_behaviour(schema: dict) -> dict:
    schema = deepcopy(schema)
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            extra = dict(ERRORS)
            if operation.get("security"):
                extra |= AUTH_ERRORS
            if method.upper() in METHODS:
                extra |= CREATE_ERRORS
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_HEADER)
            for status, description in extra.items():
                operation["responses"].setdefault(status, _error_response(description))
            body = operation.get("requestBody")
            if body and body.get("required") and _all_fields_default(body, schema):
                body["required"] = False
    return schema


def _all_fields_default(body: dict, schema: dict) -> bool:
    components = schema.get("components", {}).get("schemas", {})
    for content in body.get("content", {}).values():
        part = content.get("schema", {})
        ref = part.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            part = components.get(ref.rsplit("/", 1)[1], {})
        if part.get("type") != "object" or part.get("required"):
            return False
    return bool(body.get("content"))
