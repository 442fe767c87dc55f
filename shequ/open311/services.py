"""Writes through Open311: a new service request becomes a case through `case_report` — the
same service the resident's page, the hotline form and the JSON API use — and a client's update
becomes a public note on the case's timeline.

Parameters arrive as a form (application/x-www-form-urlencoded, as the spec says). Everything
is checked here or by `case_report`; problems come back as `Open311Error` with one entry per
problem, named by the Open311 parameter (`attribute[amount]`, `lat`, …).
"""

import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from shequ.cases.models import Case
from shequ.cases.services import case_note_add, case_report
from shequ.cases.services._common import actor_identity
from shequ.cases.workflow import Channel
from shequ.core.errors import ServiceError
from shequ.geo.models import Building, House
from shequ.open311 import selectors
from shequ.open311.formats import Open311Error
from shequ.open311.models import ApiKey
from shequ.open311.representation import EXTENDED_STATUSES, UPDATE_ACTION, service_notice

ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,40})\](\[\])?$")
ADDRESS_PREFIXES = ("江苏省", "镇江市", "丹阳市")
# case_report's field names → the Open311 parameter a client sent.
PARAMETER_OF_FIELD = {
    "category": "service_code",
    "description": "description",
    "location": "lat/long",
    "lat": "lat",
    "lng": "long",
    "building": "address_id",
    "address": "address_string",
    "contact_phone": "phone",
    "contact_name": "first_name/last_name",
}
LIMITS = {
    "email": 254,
    "device_id": 100,
    "account_id": 100,
    "first_name": 25,
    "last_name": 25,
    "phone": 40,
    "address_id": 30,
    "address_string": 200,
    "service_code": 20,
    "description": 4000,
    "media_url": 500,
}


def _one(form: QueryDict, name: str) -> str:
    values = form.getlist(name)
    return values[-1].strip() if values else ""


def _too_long(form: QueryDict, names: Iterable[str]) -> list[str]:
    errors = []
    for name in names:
        value = _one(form, name)
        if len(value) > LIMITS[name]:
            errors.append(
                _("%(name)s 不能超过 %(max)d 个字符（当前 %(n)d 个）。")
                % {"name": name, "max": LIMITS[name], "n": len(value)}
            )
    return errors


def attributes_from(form: QueryDict) -> tuple[dict[str, Any], list[str]]:
    """attribute[code]=v and attribute[code][]=v (several) → {code: v or [v, …]}."""
    values: dict = {}
    errors: list[str] = []
    for key in form:
        if not key.startswith("attribute"):
            continue
        match = ATTRIBUTE.match(key)
        if match is None:
            errors.append(
                _("无法识别的参数 %(name)s（应为 attribute[代码]）。") % {"name": key[:60]}
            )
            continue
        code, many = match.group(1), bool(match.group(2))
        items = [v.strip() for v in form.getlist(key)]
        if any(len(v) > 4000 for v in items):
            errors.append(_("attribute[%(code)s] 的值过长。") % {"code": code})
            continue
        if many or len(items) > 1:
            values[code] = list(values.get(code, [])) + items if many else items
        else:
            values[code] = items[0] if items else ""
    return values, errors


def _coordinate(raw: str, name: str, low: float, high: float) -> tuple[float | None, str | None]:
    try:
        value = float(raw)
    except ValueError:
        return None, _("%(name)s 应为数字（WGS-84 十进制度）。") % {"name": name}
    if math.isnan(value) or math.isinf(value) or not low <= value <= high:
        return None, _("%(name)s 超出范围。") % {"name": name}
    return value, None


def _building_of(address_id: str) -> Building | None:
    building = Building.objects.select_related("estate").filter(code=address_id).first()
    if building is None:
        house = House.objects.select_related("building__estate").filter(code=address_id).first()
        building = house.building if house else None
    return building


def normalise_address(text: str) -> str:
    text = re.sub(r"\s+", "", text)
    changed = True
    while changed:
        changed = False
        for prefix in ADDRESS_PREFIXES:
            if text.startswith(prefix):
                text, changed = text[len(prefix) :], True
    return text


def _building_at(address: str) -> Building | None:
    wanted = normalise_address(address)
    if not wanted:
        return None
    for candidate in {wanted, "丹阳市" + wanted}:
        building = Building.objects.filter(address=candidate).order_by("code").first()
        if building is not None:
            return building
    return None


def _media_url_error(url: str) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        return _("media_url 应为 http(s) 链接。")
    return None


def _raise_for(exc: ServiceError) -> None:
    status = exc.status if exc.status in (403, 404, 429) else 400
    messages: list[Any] = []
    if isinstance(exc.details, list):
        for item in exc.details:
            if not isinstance(item, dict):
                continue
            field = str(item.get("field", ""))
            if field.startswith("attributes."):
                name = f"attribute[{field.split('.', 1)[1]}]"
            else:
                name = PARAMETER_OF_FIELD.get(field, field)
            messages.append(f"{name}: {item.get('message', '')}" if name else item.get("message"))
    raise Open311Error(status, *(messages or [exc.message])) from exc


def request_create(*, key: ApiKey, form: QueryDict) -> dict[str, Any]:
    """POST requests: report a case on the `open311` channel. Returns the response row."""
    errors = _too_long(form, LIMITS)
    attributes, attribute_errors = attributes_from(form)
    errors += attribute_errors
    code = _one(form, "service_code")
    if not code:
        errors.append(_("service_code 必填。"))
    lat_raw, lng_raw = _one(form, "lat"), _one(form, "long")
    address_id, address = _one(form, "address_id"), _one(form, "address_string")
    lat = lng = None
    building = None
    if lat_raw or lng_raw:
        if not (lat_raw and lng_raw):
            errors.append(_("lat 与 long 须同时提供。"))
        else:
            lat, error = _coordinate(lat_raw, "lat", -90, 90)
            errors += [error] if error else []
            lng, error = _coordinate(lng_raw, "long", -180, 180)
            errors += [error] if error else []
    elif address_id and len(address_id) <= LIMITS["address_id"]:
        building = _building_of(address_id)
        if building is None:
            errors.append(_("address_id：未找到编码为 %(id)s 的楼栋或房屋。") % {"id": address_id})
    elif address and len(address) <= LIMITS["address_string"]:
        building = _building_at(address)
        if building is None:
            errors.append(
                _("address_string：“%(a)s”不是已登记的楼栋地址，请改用 lat/long 或 address_id。")
                % {"a": address[:60]}
            )
    elif not (address_id or address):
        errors.append(_("请提供位置：lat 与 long（WGS-84），或 address_string，或 address_id。"))
    media_url = _one(form, "media_url")
    error = _media_url_error(media_url)
    errors += [error] if error else []
    email = _one(form, "email")
    if email and "@" not in email:
        errors.append(_("email 格式无效。"))
    if code and len(code) <= LIMITS["service_code"] and selectors.service(code) is None:
        if not errors:
            raise Open311Error(404, _("未知的 service_code：%(code)s。") % {"code": code})
        errors.append(_("未知的 service_code：%(code)s。") % {"code": code})
    if errors:
        raise Open311Error(400, *errors)

    name = (_one(form, "last_name") + _one(form, "first_name")).strip()
    try:
        case = case_report(
            actor=None,
            client=key.client,
            channel=Channel.OPEN311,
            category=code,
            description=_one(form, "description"),
            lat=lat,
            lng=lng,
            building=building,
            address=address,
            attributes=attributes,
            contact_name=name,
            contact_phone=_one(form, "phone"),
            device_id=_one(form, "device_id") or _one(form, "deviceid"),
            media_url=media_url,
        )
    except ServiceError as exc:
        _raise_for(exc)
    return {
        "service_request_id": case.code,
        "service_notice": service_notice(case.category),
        "account_id": _one(form, "account_id") or None,
    }


@transaction.atomic
def update_create(*, key: ApiKey, form: QueryDict) -> dict[str, Any]:
    """POST servicerequestupdates (keys with that permission): a client's public note on a
    case's timeline. It never changes the case's status — only the closed loop's services do;
    a status the client sends is kept with the note."""
    if not key.can_post_updates:
        raise Open311Error(403, _("该 api_key 无权提交处理进展。"))
    errors = []
    request_id = _one(form, "service_request_id")
    description = _one(form, "description")
    status = _one(form, "status").upper()
    media_url = _one(form, "media_url")
    if not request_id:
        errors.append(_("service_request_id 必填。"))
    if not description:
        errors.append(_("description 必填。"))
    elif len(description) > 4000:
        errors.append(_("description 不能超过 4000 个字符。"))
    if status and status not in EXTENDED_STATUSES:
        errors.append(_("未知的 status：%(s)s。") % {"s": status[:40]})
    error = _media_url_error(media_url) if len(media_url) <= 500 else _("media_url 过长。")
    errors += [error] if error else []
    external_id = _one(form, "update_id")[:100]
    if errors:
        raise Open311Error(400, *errors)
    case = Case.objects.select_for_update().filter(code=request_id[:20]).first()
    if case is None:
        raise Open311Error(404, _("未找到服务请求 %(id)s。") % {"id": request_id[:40]})
    name, role = actor_identity(None, case, key.client)
    event = case_note_add(
        case=case,
        action=UPDATE_ACTION,
        actor_name=name,
        actor_role=role,
        note=description,
        data={"client_status": status, "media_url": media_url, "external_id": external_id},
    )
    return {"update_id": str(event.pk)}
