"""随手拍 and 热线登记: a missing or unmatched location is a Chinese field error with everything
typed and attached kept (never a 500); an address alone is resolved to a building, the
reporter's own house stands in for "3幢" (issue 21.1)."""

import re

import pytest

from shequ.cases.models import Case, CasePhoto
from shequ.geo.models import Building, Estate
from shequ.geo.resolve import ResolveError, chinese_to_int, normalise, resolve_address
from tests.support.cases import point_in, upload
from tests.support.factories import make_person

pytestmark = pytest.mark.django_db

REPORT = "/cases/report/"
HOTLINE = "/cases/hotline/"


def _unique_estate_building(grid_prefix: str = "321181001001") -> Building:
    """A building of an estate whose name is unique in its community (so an address names it
    for the people there)."""
    from django.db.models import Count

    unique = (
        Estate.objects.filter(region_code__startswith=grid_prefix[:12])
        .values("name")
        .annotate(n=Count("id"))
        .filter(n=1)
        .values_list("name")
    )
    return (
        Building.objects.filter(
            region_code__startswith=grid_prefix, estate__kind="estate", estate__name__in=unique
        )
        .exclude(name="1幢")
        .select_related("estate")
        .order_by("code")
        .first()
    )


def _token(html: str) -> str:
    match = re.search(r'name="draft_photos" value="([^"]+)"', html)
    return match.group(1) if match else ""


# --- the resolver -------------------------------------------------------------------------


def test_chinese_numbers_and_normalising():
    assert chinese_to_int("三") == 3
    assert chinese_to_int("十二") == 12
    assert chinese_to_int("二十三") == 23
    assert chinese_to_int("一百零五") == 105
    assert normalise("春江花园 三幢 二单元") == "春江花园3幢2单元"
    assert normalise("１２栋") == "12栋"


def test_resolver_finds_estate_building_and_unit():
    building = _unique_estate_building()
    number = int(building.name.rstrip("幢"))
    place = resolve_address(f"{building.estate.name}{number}栋2单元门口")
    assert place.building == building
    assert place.grid_code == building.region_code
    assert place.unit in (2, None)  # None when the building has one unit only


def test_resolver_estate_only_is_the_estate():
    building = _unique_estate_building()
    place = resolve_address(f"{building.estate.name}南门")
    assert place.building is None and place.estate == building.estate
    assert place.grid_code == building.estate.region_code


def test_resolver_unknown_building_number_and_unknown_text():
    building = _unique_estate_building()
    with pytest.raises(ResolveError) as info:
        resolve_address(f"{building.estate.name}999幢")
    assert "999" in info.value.message
    assert resolve_address("火星基地") is None
    assert resolve_address("") is None


def test_resolver_ambiguous_name_needs_more():
    from django.db.models import Count

    name = (
        Estate.objects.values("name")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("name")
        .first()["name"]
    )
    with pytest.raises(ResolveError) as info:
        resolve_address(name)
    assert info.value.code == "ambiguous_address"
    inside = Estate.objects.filter(name=name).order_by("region_code").first()
    assert resolve_address(name, within=inside.region_code).estate == inside


def test_resolver_uses_home_estate_for_a_bare_building_number():
    building = _unique_estate_building()
    number = int(building.name.rstrip("幢"))
    other = Building.objects.filter(estate=building.estate, name="1幢").first()
    place = resolve_address(f"{number}幢楼下", home=other)
    assert place.building == building


# --- 随手拍 ---------------------------------------------------------------------------------


def test_report_without_point_keeps_text_and_photo(client_as, persona, categories):
    client = client_as("resident")
    response = client.post(
        REPORT,
        {
            "category": "0101",
            "description": "门口垃圾没人收",
            "attr_amount": "v2",
            "photos": [upload()],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="location-error"' in html and "请在地图上点选问题位置" in html
    assert "门口垃圾没人收" in html
    assert 'src="data:image/jpeg;base64,' in html  # the photo's thumbnail
    token = _token(html)
    assert token
    # Second try: the point is given, the photo is not uploaded again — it is kept.
    lat, lng = point_in("321181001001001")
    response = client.post(
        REPORT,
        {
            "category": "0101",
            "description": "门口垃圾没人收",
            "attr_amount": "v2",
            "lat": lat,
            "lng": lng,
            "draft_photos": token,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(description="门口垃圾没人收")
    assert CasePhoto.objects.filter(case=case).count() == 1


def test_draft_token_of_another_user_is_ignored(client_as, categories):
    html = (
        client_as("resident")
        .post(REPORT, {"category": "0101", "description": "x", "photos": [upload()]})
        .content.decode()
    )
    token = _token(html)
    lat, lng = point_in("321181001001001")
    response = client_as("grid").post(
        REPORT,
        {
            "category": "0101",
            "description": "别人的照片",
            "attr_amount": "v2",
            "lat": lat,
            "lng": lng,
            "draft_photos": token,
        },
    )
    assert response.status_code == 400  # 0101 needs a photo; the resident's is not the worker's
    assert "该类问题需要上传现场照片" in response.content.decode()


def test_report_with_address_only_is_located(client_as, categories):
    building = _unique_estate_building("321181001001")
    response = client_as("resident").post(
        REPORT,
        {
            "category": "0101",
            "description": "楼下垃圾满了",
            "attr_amount": "v2",
            "address": f"{building.estate.name}{building.name}东侧",
            "photos": [upload()],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get(description="楼下垃圾满了")
    assert case.building == building and case.region_code == building.region_code


def test_report_unmatched_address_is_a_field_error(client_as, categories):
    response = client_as("resident").post(
        REPORT,
        {
            "category": "0101",
            "description": "路灯不亮",
            "address": "火星基地",
            "photos": [upload()],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="address-error"' in html and "未能根据" in html
    assert 'value="火星基地"' in html and "路灯不亮" in html


def test_report_at_home_and_bare_building_number(client_as, persona, categories):
    building = _unique_estate_building("321181001001")
    home = Building.objects.filter(estate=building.estate, name="1幢").first()
    make_person(house=home.houses.order_by("code").first(), user=persona("resident"))
    client = client_as("resident")
    page = client.get(REPORT).content.decode()
    assert 'name="at_home"' in page
    response = client.post(
        REPORT,
        {
            "category": "0101",
            "description": "我家楼道堆物",
            "attr_amount": "v2",
            "at_home": "1",
            "photos": [upload()],
        },
    )
    assert response.status_code == 302
    assert Case.objects.get(description="我家楼道堆物").building == home
    response = client.post(
        REPORT,
        {
            "category": "0101",
            "description": "隔壁楼垃圾",
            "attr_amount": "v2",
            "address": building.name,
            "photos": [upload()],
        },
    )
    assert response.status_code == 302
    assert Case.objects.get(description="隔壁楼垃圾").building == building


# --- 热线登记 -------------------------------------------------------------------------------


def test_hotline_empty_is_field_errors(client_as, categories):
    response = client_as("community").post(HOTLINE, {})
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写 12345 工单号" in html and "请填写问题描述" in html
    assert 'id="location-error"' in html


def test_hotline_with_only_an_address(client_as, categories):
    building = _unique_estate_building("321181001001")
    response = client_as("community").post(
        HOTLINE,
        {
            "channel": "hotline",
            "source_ref": "GD20261203001",
            "category": "0101",
            "attr_amount": "v2",
            "description": "来电反映小区垃圾堆积",
            "address": f"{building.estate.name}{building.name}2单元",
            "contact_name": "李先生",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get(source_ref="GD20261203001")
    assert case.building == building


def test_hotline_unmatched_address_keeps_everything(client_as, categories):
    response = client_as("community").post(
        HOTLINE,
        {
            "channel": "hotline",
            "source_ref": "GD1",
            "category": "0101",
            "attr_amount": "v2",
            "description": "噪音扰民",
            "address": "不存在的地方",
            "contact_name": "张女士",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    for kept in ("GD1", "噪音扰民", "不存在的地方", "张女士"):
        assert kept in html
    assert 'id="address-error"' in html


def test_draft_photos_are_purged_after_a_day(client_as, categories, time_machine):
    import datetime as dt

    from django.core.files.storage import default_storage
    from django.utils import timezone

    from shequ.cases.evidence import drafts_from_token, drafts_purge

    time_machine.move_to(timezone.now(), tick=False)
    client = client_as("resident")
    html = client.post(REPORT, {"description": "x", "photos": [upload()]}).content.decode()
    token = _token(html)
    from shequ.accounts.models import User

    resident = User.objects.get(username="resident")
    (draft,) = drafts_from_token(token, user=resident)
    assert drafts_purge() == 0 and default_storage.exists(draft.path)
    time_machine.shift(dt.timedelta(days=1, minutes=5))
    assert drafts_from_token(token, user=resident) == []  # the token has expired
    assert drafts_purge() == 2  # the photo and its thumbnail
    assert not default_storage.exists(draft.path)


def test_hotline_caller_found_by_number_stands_in_for_the_estate(client_as, categories):
    building = _unique_estate_building("321181001001")
    home = Building.objects.filter(estate=building.estate, name="1幢").first()
    make_person(house=home.houses.order_by("code").first(), mobile="13955550001")
    response = client_as("community").post(
        HOTLINE,
        {
            "channel": "hotline",
            "source_ref": "GD-CALLER-1",
            "category": "0101",
            "attr_amount": "v2",
            "description": "来电：楼下垃圾",
            "address": building.name,
            "contact_phone": "13955550001",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Case.objects.get(source_ref="GD-CALLER-1").building == building
    # An unknown number: "3幢" alone names nothing.
    response = client_as("community").post(
        HOTLINE,
        {
            "channel": "hotline",
            "source_ref": "GD-CALLER-2",
            "category": "0101",
            "attr_amount": "v2",
            "description": "来电：楼下垃圾",
            "address": building.name,
            "contact_phone": "13955550002",
        },
    )
    assert response.status_code == 400
