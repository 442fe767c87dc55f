"""The project's own OpenAPI 3 description of /open311/v2/ (the official Swagger file spells some
paths differently and describes no errors). Served at /open311/v2/openapi.json; the fuzzing test
runs schemathesis against it."""

from copy import deepcopy

NULLABLE_STRING = {"type": "string", "nullable": True}
FORMAT = {
    "name": "format",
    "in": "path",
    "required": True,
    "description": "json 或 xml",
    "schema": {"type": "string", "enum": ["json", "xml"]},
}
JURISDICTION = {
    "name": "jurisdiction_id",
    "in": "query",
    "required": False,
    "description": "321181 或配置的域名；可省略（只有一个辖区）",
    "schema": {"type": "string", "maxLength": 100},
}
API_KEY = {
    "name": "api_key",
    "in": "query",
    "required": False,
    "description": "应用密钥（读取时可省略）",
    "schema": {"type": "string", "maxLength": 200},
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "重试安全：相同的键与请求体返回首次的响应，不会重复创建",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}


def _query(name: str, description: str, **schema) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


DATES = [
    _query("start_date", "ISO 8601（带时区），默认 end_date 前 90 天", maxLength=40),
    _query(
        "end_date", "ISO 8601（带时区），默认当前；与 start_date 相隔不超过 90 天", maxLength=40
    ),
]
PAGING = [
    {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "扩展：页码（从 1 开始）",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100000},
    },
    {
        "name": "page_size",
        "in": "query",
        "required": False,
        "description": "扩展：每页条数（1–1000，默认 1000）",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
]

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
    "Errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}},
    "Service": {
        "type": "object",
        "required": ["service_code", "service_name", "metadata", "type"],
        "properties": {
            "service_code": {"type": "string"},
            "service_name": {"type": "string"},
            "description": NULLABLE_STRING,
            "metadata": {"type": "boolean"},
            "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
            "keywords": NULLABLE_STRING,
            "group": NULLABLE_STRING,
        },
    },
    "ServiceDefinition": {
        "type": "object",
        "required": ["service_code", "attributes"],
        "properties": {
            "service_code": {"type": "string"},
            "attributes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["variable", "code", "datatype", "required"],
                    "properties": {
                        "variable": {"type": "boolean"},
                        "code": {"type": "string"},
                        "datatype": {
                            "type": "string",
                            "enum": [
                                "string",
                                "number",
                                "datetime",
                                "text",
                                "singlevaluelist",
                                "multivaluelist",
                            ],
                        },
                        "required": {"type": "boolean"},
                        "datatype_description": NULLABLE_STRING,
                        "order": {"type": "integer", "nullable": True},
                        "description": NULLABLE_STRING,
                        "values": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["key", "name"],
                                "properties": {
                                    "key": {"type": "string"},
                                    "name": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "Request": {
        "type": "object",
        "required": ["service_request_id", "status", "service_code", "requested_datetime"],
        "properties": {
            "service_request_id": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "status_notes": NULLABLE_STRING,
            "service_name": NULLABLE_STRING,
            "service_code": {"type": "string"},
            "description": {"type": "string", "nullable": True, "maxLength": 4000},
            "agency_responsible": NULLABLE_STRING,
            "service_notice": NULLABLE_STRING,
            "requested_datetime": {"type": "string", "format": "date-time"},
            "updated_datetime": {"type": "string", "format": "date-time", "nullable": True},
            "expected_datetime": {"type": "string", "format": "date-time", "nullable": True},
            "address": NULLABLE_STRING,
            "address_id": NULLABLE_STRING,
            "zipcode": NULLABLE_STRING,
            "lat": {"type": "number", "nullable": True},
            "long": {"type": "number", "nullable": True},
            "media_url": NULLABLE_STRING,
        },
    },
    "Created": {
        "type": "object",
        "required": ["service_request_id"],
        "properties": {
            "service_request_id": {"type": "string"},
            "service_notice": NULLABLE_STRING,
            "account_id": NULLABLE_STRING,
        },
    },
    "Token": {
        "type": "object",
        "required": ["service_request_id", "token"],
        "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}},
    },
    "Update": {
        "type": "object",
        "required": ["update_id", "service_request_id", "status", "updated_datetime"],
        "properties": {
            "update_id": {"type": "string"},
            "service_request_id": {"type": "string"},
            "status": {"type": "string"},
            "updated_datetime": {"type": "string", "format": "date-time"},
            "description": NULLABLE_STRING,
            "media_url": NULLABLE_STRING,
        },
    },
    "UpdateCreated": {
        "type": "object",
        "required": ["update_id"],
        "properties": {"update_id": {"type": "string"}},
    },
    "Discovery": {
        "type": "object",
        "required": ["endpoints"],
        "properties": {
            "changeset": {"type": "string"},
            "contact": {"type": "string"},
            "key_service": {"type": "string"},
            "endpoints": {"type": "array", "items": {"type": "object"}},
        },
    },
}
ERROR_STATUSES = {
    "400": "参数有误（每条错误一项）",
    "403": "缺少或无效的 api_key，或无权限",
    "404": "未知的资源、格式、service_code、请求或辖区",
    "405": "不支持的方法",
    "413": "请求内容过大",
    "429": "超过该密钥的每分钟调用上限",
}
CREATE_ERRORS = {
    "409": "相同的 Idempotency-Key 请求正在处理",
    "422": "Idempotency-Key 已用于内容不同的请求",
    "503": "系统繁忙，请稍后重试（未处理）",
}


def _content(schema: dict) -> dict:
    return {
        "application/json": {"schema": schema},
        "text/xml": {"schema": {"type": "string"}},
    }


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, "content": _content(schema)}


def _errors(create: bool = False) -> dict:
    statuses = {**ERROR_STATUSES, **(CREATE_ERRORS if create else {})}
    return {
        status: {
            "description": text,
            "content": _content({"$ref": "#/components/schemas/Errors"}),
        }
        for status, text in statuses.items()
    }


def _list_of(name: str) -> dict:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}


def _get(summary: str, ok: dict, params=()) -> dict:
    return {
        "summary": summary,
        "parameters": [FORMAT, JURISDICTION, *params],
        "responses": {"200": ok, **_errors()},
    }


def _form(properties: dict, required: list[str]) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


def _text(max_length: int, description: str = "") -> dict:
    return {"type": "string", "maxLength": max_length, "description": description}


REQUEST_FORM = {
    "api_key": _text(200, "应用密钥（必填）"),
    "jurisdiction_id": _text(100),
    "service_code": _text(20, "服务代码（小类），见 services"),
    "lat": {"type": "number", "description": "纬度（WGS-84）"},
    "long": {"type": "number", "description": "经度（WGS-84）"},
    "address_string": _text(200, "已登记的楼栋地址"),
    "address_id": _text(30, "楼栋或房屋编码"),
    "email": _text(254, "不保存"),
    "device_id": _text(100),
    "deviceid": _text(100, "FixMyStreet 的写法"),
    "account_id": _text(100),
    "first_name": _text(25),
    "last_name": _text(25),
    "phone": _text(40),
    "description": _text(4000, "问题描述（不超过 4000 字）"),
    "media_url": _text(500, "图片链接（http/https）"),
}
UPDATE_FORM = {
    "api_key": _text(200, "应用密钥（须有提交进展权限）"),
    "jurisdiction_id": _text(100),
    "service_request_id": _text(20),
    "update_id": _text(100, "客户端自己的编号"),
    "status": _text(40, "FixMyStreet 扩展状态，随进展保存，不改变案件状态"),
    "description": _text(4000),
    "media_url": _text(500),
}


def paths() -> dict:
    base = "/open311/v2"
    return {
        f"{base}/discovery.{{format}}": {
            "get": _get("服务发现", _ok("端点说明", {"$ref": "#/components/schemas/Discovery"}))
        },
        f"{base}/services.{{format}}": {
            "get": _get("服务（问题小类）列表", _ok("服务列表", _list_of("Service")), [API_KEY])
        },
        f"{base}/services/{{service_code}}.{{format}}": {
            "get": _get(
                "服务定义（附加字段）",
                _ok("服务定义", {"$ref": "#/components/schemas/ServiceDefinition"}),
                [
                    {
                        "name": "service_code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 20},
                    },
                    API_KEY,
                ],
            )
        },
        f"{base}/requests.{{format}}": {
            "get": _get(
                "查询服务请求（默认最近 90 天，最多 1000 条）",
                _ok("服务请求列表", _list_of("Request")),
                [
                    _query("service_request_id", "逗号分隔；给出时忽略其他筛选", maxLength=2000),
                    _query("service_code", "逗号分隔", maxLength=500),
                    *DATES,
                    _query("status", "open 或 closed（可逗号分隔）", maxLength=20),
                    *PAGING,
                    API_KEY,
                ],
            ),
            "post": {
                "summary": "提交服务请求（生成案件）",
                "parameters": [FORMAT, IDEMPOTENCY],
                "requestBody": _form(REQUEST_FORM, ["api_key", "service_code"]),
                "responses": {
                    "201": _ok("已受理", _list_of("Created")),
                    **_errors(create=True),
                },
            },
        },
        f"{base}/requests/{{service_request_id}}.{{format}}": {
            "get": _get(
                "查询一个服务请求",
                _ok("一个服务请求（列表）", _list_of("Request")),
                [
                    {
                        "name": "service_request_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 20},
                    },
                    API_KEY,
                ],
            )
        },
        f"{base}/tokens/{{token}}.{{format}}": {
            "get": _get(
                "由令牌查询请求编号（本系统即时受理，令牌即请求编号）",
                _ok("令牌与请求编号", _list_of("Token")),
                [
                    {
                        "name": "token",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 20},
                    }
                ],
            )
        },
        f"{base}/servicerequestupdates.{{format}}": {
            "get": _get(
                "处理进展（FixMyStreet 扩展）",
                _ok("进展列表", _list_of("Update")),
                [
                    _query("service_request_id", "逗号分隔（扩展）", maxLength=2000),
                    *DATES,
                    *PAGING,
                    API_KEY,
                ],
            ),
            "post": {
                "summary": "提交处理进展（须有权限的密钥）",
                "parameters": [FORMAT, IDEMPOTENCY],
                "requestBody": _form(UPDATE_FORM, ["api_key", "service_request_id", "description"]),
                "responses": {
                    "201": _ok("已记录", _list_of("UpdateCreated")),
                    **_errors(create=True),
                },
            },
        },
    }


def description(request=None) -> dict:
    server = request.build_absolute_uri("/").rstrip("/") if request is not None else ""
    return deepcopy(
        {
            "openapi": "3.0.3",
            "info": {
                "title": "Shequ Open311 GeoReport v2",
                "version": "v2",
                "description": "丹阳智慧社区的 Open311 GeoReport v2 接口（含 FixMyStreet 的进展扩展）。"
                "错误为规范的 [{code, description}] 列表。",
            },
            "servers": [{"url": server or "/"}],
            "paths": paths(),
            "components": {"schemas": SCHEMAS},
        }
    )
