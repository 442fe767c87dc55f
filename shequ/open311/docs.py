"""The human page /open311/: what each call does, with a curl example that works as written
against this server (the demo key is shown only in demo mode)."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.cases.models import Case
from shequ.cases.workflow import Status
from shequ.geo.models import Building
from shequ.open311 import representation, selectors

SAMPLE_SERVICE = "0101"  # 暴露垃圾 (has a required single-value attribute)


@dataclass
class Example:
    anchor: str
    title: str
    text: str
    command: str


def _sample_case_code() -> str:
    code = Case.objects.order_by("-reported_at", "-id").values_list("code", flat=True).first()
    return code or "261127ABCDEF"


def _sample_building() -> Building | None:
    return Building.objects.order_by("code").first()


def examples(base: str, key: str) -> list[Example]:
    code = _sample_case_code()
    building = _sample_building()
    lat, lng = (building.lat, building.lng) if building else (31.99167, 119.585)
    start = timezone.localtime(timezone.now() - timedelta(days=7)).replace(microsecond=0)
    post = (
        f'curl -fsS -X POST "{base}requests.json" \\\n'
        f'  -H "Idempotency-Key: {uuid.uuid4()}" \\\n'
        f'  --data-urlencode "api_key={key}" \\\n'
        f'  --data-urlencode "jurisdiction_id={settings.SHEQU_CITY_CODE}" \\\n'
        f'  --data-urlencode "service_code={SAMPLE_SERVICE}" \\\n'
        f'  --data-urlencode "lat={lat:.6f}" --data-urlencode "long={lng:.6f}" \\\n'
        f'  --data-urlencode "attribute[amount]=v2" \\\n'
        f'  --data-urlencode "description=小区门口垃圾堆放，已有异味。"'
    )
    rows = [
        Example(
            "discovery",
            _("服务发现"),
            _("端点、规范版本与支持的格式。"),
            f'curl -fsS "{base}discovery.json"',
        ),
        Example(
            "services",
            _("服务列表"),
            _("可上报的问题小类（service_code）及所属大类（group）。"),
            f'curl -fsS "{base}services.xml?jurisdiction_id={settings.SHEQU_CITY_CODE}"',
        ),
        Example(
            "definition",
            _("服务定义"),
            _("该小类需要填写的附加字段（attribute），含类型、是否必填和可选值。"),
            f'curl -fsS "{base}services/{SAMPLE_SERVICE}.json"',
        ),
        Example(
            "post",
            _("提交服务请求"),
            _(
                "以表单提交，须带 api_key；位置用 lat/long（WGS-84）、address_string 或 "
                "address_id 之一。返回 service_request_id 与预计处置时间。"
            ),
            post,
        ),
    ]
    if building is not None:
        rows.append(
            Example(
                "post-address",
                _("按楼栋编码提交"),
                _("address_id 可以是楼栋编码或房屋编码。"),
                f'curl -fsS -X POST "{base}requests.json" \\\n'
                f'  --data-urlencode "api_key={key}" \\\n'
                f'  --data-urlencode "service_code=0202" \\\n'
                f'  --data-urlencode "address_id={building.code}" \\\n'
                f'  --data-urlencode "description=楼下路灯不亮。"',
            )
        )
    rows += [
        Example(
            "requests",
            _("查询服务请求"),
            _(
                "默认最近 90 天、最多 1000 条；可按 service_code、status、start_date/end_date "
                "筛选，扩展参数 page/page_size 分页。"
            ),
            f'curl -fsS -G "{base}requests.json" \\\n'
            f'  --data-urlencode "status=open" \\\n'
            f'  --data-urlencode "start_date={start.isoformat()}" \\\n'
            f'  --data-urlencode "page_size=20"',
        ),
        Example(
            "request",
            _("查询一个服务请求"),
            _("按 service_request_id（案件编号）查询。"),
            f'curl -fsS "{base}requests/{code}.xml"',
        ),
        Example(
            "token",
            _("令牌"),
            _("本系统即时受理，令牌即 service_request_id。"),
            f'curl -fsS "{base}tokens/{code}.json"',
        ),
        Example(
            "updates",
            _("处理进展"),
            _("案件流转中公开的进展，状态为 FixMyStreet 扩展状态。"),
            f'curl -fsS "{base}servicerequestupdates.json?service_request_id={code}"',
        ),
        Example(
            "post-update",
            _("提交处理进展"),
            _("须使用有“提交处理进展”权限的密钥；进展作为公开说明写入案件时间线，不改变案件状态。"),
            f'curl -fsS -X POST "{base}servicerequestupdates.json" \\\n'
            f'  --data-urlencode "api_key={key}" \\\n'
            f'  --data-urlencode "service_request_id={code}" \\\n'
            f'  --data-urlencode "status=OPEN" \\\n'
            f'  --data-urlencode "description=居民反映问题仍然存在。"',
        ),
        Example(
            "openapi",
            _("OpenAPI 描述"),
            _("本接口的 OpenAPI 3 描述，可导入 Swagger 等工具。"),
            f'curl -fsS "{base}openapi.json"',
        ),
    ]
    return rows


def page_context(request) -> dict:
    base = request.build_absolute_uri("/open311/v2/")
    key = settings.SHEQU_DEMO_OPEN311_KEY if settings.DEMO_MODE else "YOUR_API_KEY"
    return {
        "base": base,
        "demo_key": key if settings.DEMO_MODE else "",
        "examples": examples(base, key),
        "status_rows": [
            (
                s.value,
                s.label,
                representation.STATUS_OPEN_CLOSED[s.value],
                representation.EXTENDED_OF_STATUS[s],
            )
            for s in Status
        ],
        "jurisdiction": settings.SHEQU_OPEN311_JURISDICTION,
        "city_code": settings.SHEQU_CITY_CODE,
        "service_count": selectors.services().count(),
    }
