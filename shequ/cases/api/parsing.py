"""Request bodies of the cases API: the input models and the JSON / multipart parsing (photos
as base64 strings or files) that the reporting and handling endpoints share."""

import base64
import binascii
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja.errors import ValidationError
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from shequ.cases.workflow import Action
from shequ.core.errors import InvalidInput
from shequ.core.sanitize import json_loads


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=20, description="小类代码，如 0101")
    description: str = Field(max_length=20000, description="问题描述（不超过 4000 字）")
    lat: float | None = Field(default=None, description="纬度")
    lng: float | None = Field(default=None, description="经度")
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    building: str | None = Field(default=None, max_length=30, description="楼栋编码（代替坐标）")
    address: str = Field(default="", max_length=1000)
    attributes: dict[str, Any] = Field(default_factory=dict)
    photos: list[str] = Field(default_factory=list, description="base64 编码的照片（JSON 时）")
    channel: Literal["api", "resident", "patrol", "hotline", "phone", "walk_in"] = "api"
    source_ref: str = Field(default="", max_length=1000)
    contact_name: str = Field(default="", max_length=1000)
    contact_phone: str = Field(default="", max_length=40)
    priority: Literal["normal", "urgent", "emergency"] | None = None


ACTIONS = tuple(a.value for a in Action if a != Action.REPORT)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal[ACTIONS]  # type: ignore[valid-type]
    note: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(default=None, max_length=4000)
    category: str | None = None
    priority: Literal["normal", "urgent", "emergency"] | None = None
    handler_type: Literal["grid", "community", "township", "city", "property"] | None = None
    handler_unit_code: str | None = None
    handler_company: int | None = None
    amount: int | None = None
    approved: bool | None = None
    rating: Literal["satisfied", "basic", "unsatisfied"] | None = None
    comment: str | None = Field(default=None, max_length=4000)
    reopen: bool | None = None
    into: str | None = Field(default=None, description="合并目标案件的 id 或编号")
    contacted: bool | None = None
    resolved: bool | None = None
    photos: list[str] = Field(default_factory=list)


def _form_data(request) -> tuple[dict, list]:
    data: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key in request.POST:
        values = request.POST.getlist(key)
        if key.startswith("attribute[") and key.endswith("[]"):
            attributes[key[10:-3]] = values
        elif key.startswith("attribute["):
            attributes[key[10:-1]] = values[-1]
        elif key == "attributes":
            try:
                attributes.update(json_loads(values[-1] or "{}"))
            except (ValueError, TypeError, AttributeError):
                raise body_error("attributes", _("附加信息应为 JSON 对象。")) from None
        else:
            data[key] = values[-1]
    if attributes:
        data["attributes"] = attributes
    for key in ("lat", "lng", "amount", "handler_company"):
        if data.get(key) == "":
            data.pop(key)
    return data, request.FILES.getlist("photos")


def _json_data(request) -> tuple[dict, list]:
    try:
        data = json_loads(request.body or b"{}")
    except ValueError:
        raise body_error("body", _("请求体不是有效的 JSON。"), "malformed_request") from None
    if not isinstance(data, dict):
        raise body_error("body", _("请求体应为 JSON 对象。"), "malformed_request")
    photos = []
    for index, encoded in enumerate(data.get("photos") or []):
        if not isinstance(encoded, str):
            raise body_error(f"photos.{index}", _("照片应为 base64 字符串。"))
        if encoded.startswith("data:") and "," in encoded:
            encoded = encoded.split(",", 1)[1]
        try:
            photos.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            raise body_error(f"photos.{index}", _("照片不是有效的 base64 编码。")) from None
    return data, photos


def body_error(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, details=[{"field": field, "message": message}])


def parse_body(request, model: type[BaseModel]):
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        data, photos = _form_data(request)
    else:
        data, photos = _json_data(request)
    data = {**data, "photos": []}
    try:
        return model.model_validate(data), photos
    except PydanticError as exc:
        raise ValidationError(
            [
                {"loc": ("body", *error["loc"]), "type": error["type"], "msg": error["msg"]}
                for error in exc.errors()
            ]
        ) from None


MULTIPART_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CaseIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "category": {"type": "string"},
                        "description": {"type": "string"},
                        "lat": {"type": "number"},
                        "lng": {"type": "number"},
                        "building": {"type": "string"},
                        "attributes": {"type": "string", "description": "JSON object"},
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                    "required": ["category", "description"],
                }
            },
        },
        "required": True,
    }
}


TRANSITION_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/TransitionIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "action": {"type": "string", "enum": list(ACTIONS)},
                        "note": {"type": "string"},
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                    "required": ["action"],
                }
            },
        },
        "required": True,
    }
}
