"""Reporting: channels, validation (field errors in Chinese), photos checked by content with
EXIF stripped, the source work-order number unique per source, attributes of Open311 shapes."""

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from shequ.cases import evidence, services
from shequ.cases.models import Case, CasePhoto
from shequ.cases.workflow import Status
from shequ.core.errors import ConflictError, InvalidInput, PermissionDeniedError
from tests.support.cases import photo_bytes, point_in, report, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("categories")]


def fields(error: InvalidInput) -> dict:
    return {d["field"]: d["message"] for d in error.details}


def test_report_records_channel_and_reporter(persona, world):
    case = report(persona("resident"), "0101", grid=world["grid_a"])
    assert case.channel == "resident" and case.reporter == persona("resident")
    assert case.code[:6].isdigit() and len(case.code) == 12
    assert case.attributes == {"amount": "v2"}
    assert case.photos.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"category": "9999"}, "category", "未知的问题类别"),
        ({"category": "01"}, "category", "未知的问题类别"),  # a 大类 is not reportable
        ({"lat": 40.0, "lng": 116.4}, "lat", "不在丹阳市"),
        ({"lat": "north", "lng": 119.5}, "lat", "必须是数字"),
        ({"lat": None, "lng": None}, "location", "请在地图上点选问题位置"),
        ({"description": "x" * 4001}, "description", "不能超过 4000 字"),
        ({"description": "   "}, "description", "请填写问题描述"),
        ({"attributes": {}}, "attributes.amount", "请填写「数量/规模」"),
        ({"attributes": {"amount": "v9"}}, "attributes.amount", "取值无效"),
        ({"attributes": {"amount": "v1", "colour": "red"}}, "attributes.colour", "没有附加字段"),
        ({"photos": []}, "photos", "需要上传现场照片"),
        ({"photos": [b"this is not an image at all"]}, "photos.0", "不是有效的图片"),
        ({"building": "nope"}, "building", "未找到该楼栋"),
    ],
)
def test_bad_input_gives_field_errors_in_chinese(persona, world, kwargs, field, text):
    args = {"grid": world["grid_a"], **kwargs}
    category = args.pop("category", "0101")
    if kwargs.get("lat", 0) is None:
        args.pop("grid")
    before = Case.objects.count()
    with pytest.raises(InvalidInput) as error:
        report(persona("resident"), category, **args)
    assert error.value.status == 400
    errors = fields(error.value)
    assert field in errors, errors
    assert text in errors[field]
    assert Case.objects.count() == before  # nothing half-written


def test_several_errors_at_once(persona):
    with pytest.raises(InvalidInput) as error:
        services.case_report(
            actor=persona("resident"), category="0101", description="", lat=40, lng=116
        )
    assert {"description", "lat", "attributes.amount"} <= set(fields(error.value))


def test_attribute_types(persona, world):
    lat, lng = point_in(world["grid_a"])
    case = services.case_report(
        actor=persona("resident"),
        category="0701",  # 邻里纠纷: datetime + number
        description="楼上装修噪音",
        lat=lat,
        lng=lng,
        attributes={"started_at": "2026-11-20T20:00:00+08:00", "households": "3"},
    )
    assert case.attributes == {"started_at": "2026-11-20T20:00:00+08:00", "households": 3}
    assert case.status == Status.REPORTED  # disputes wait for the community
    for bad in ({"households": "three"}, {"started_at": "yesterday"}):
        with pytest.raises(InvalidInput):
            services.case_report(
                actor=persona("resident"),
                category="0701",
                description="x",
                lat=lat,
                lng=lng,
                attributes=bad,
            )
    noise = services.case_report(
        actor=persona("resident"),
        category="0904",
        description="夜间施工",
        lat=lat,
        lng=lng,
        attributes={"times": ["v2", "v3"]},
    )
    assert noise.attributes == {"times": ["v2", "v3"]}


class TestPhotos:
    def test_text_file_named_jpg_is_rejected(self):
        fake = upload("scene.jpg", "这是一个文本文件".encode(), content_type="image/jpeg")
        with pytest.raises(InvalidInput) as error:
            evidence.check_photo(fake, 0)
        assert error.value.code == "photo_type"
        assert error.value.details[0]["field"] == "photos.0"
        assert "不是有效的图片" in error.value.message

    def test_gif_and_bmp_are_refused(self):
        for fmt in ("GIF", "BMP"):
            buffer = io.BytesIO()
            Image.new("RGB", (10, 10)).save(buffer, format=fmt)
            with pytest.raises(InvalidInput):
                evidence.check_photo(buffer.getvalue())

    def test_over_ten_megabytes_is_rejected(self):
        big = upload("big.jpg", b"\xff\xd8" + b"0" * (10 * 1024 * 1024))
        with pytest.raises(InvalidInput) as error:
            evidence.check_photo(big)
        assert error.value.code == "photo_too_large"

    def test_truncated_image_is_rejected(self):
        with pytest.raises(InvalidInput):
            evidence.check_photo(photo_bytes()[:200])

    def test_exif_is_stripped_and_thumbnail_made(self):
        raw = photo_bytes(size=(1200, 900))
        assert Image.open(io.BytesIO(raw)).getexif().get(0x8825)  # the input has GPS
        checked = evidence.check_photo(raw)
        image = Image.open(io.BytesIO(checked.data))
        assert image.format == "JPEG" and not image.getexif()
        assert "exif" not in image.info
        thumb = Image.open(io.BytesIO(checked.thumb))
        assert max(thumb.size) <= evidence.THUMB_SIDE

    def test_png_and_webp_accepted(self):
        assert evidence.check_photo(photo_bytes("PNG")).content_type == "image/png"
        assert evidence.check_photo(photo_bytes("WEBP")).content_type == "image/jpeg"

    def test_too_many_photos(self):
        with pytest.raises(InvalidInput) as error:
            evidence.check_photos([photo_bytes()] * 10)
        assert error.value.code == "too_many_photos"

    def test_stored_privately_under_media_root(self, persona, world, settings):
        tmp_path = settings.MEDIA_ROOT
        case = report(persona("resident"), "0101", grid=world["grid_a"])
        photo = CasePhoto.objects.get(case=case)
        assert photo.path.startswith("cases/") and default_storage.exists(photo.path)
        assert (tmp_path / photo.thumb_path).exists()
        stored = Image.open(tmp_path / photo.path)
        assert not stored.getexif()


class TestStaffEntry:
    def test_hotline_needs_work_order_number_unique_per_source(self, persona, world):
        base = {
            "grid": world["grid_a"],
            "channel": "hotline",
            "photos": [],
            "contact_name": "王大妈",
            "contact_phone": "139 1234 5678",
        }
        with pytest.raises(InvalidInput) as error:
            report(persona("community"), "0101", **base)
        assert "source_ref" in fields(error.value)
        case = report(persona("community"), "0101", source_ref="GD-001", **base)
        assert case.contact_phone == "13912345678"
        assert case.masked_contact_phone == "139****5678"
        with pytest.raises(ConflictError) as conflict:
            report(persona("community"), "0101", source_ref="GD-001", **base)
        assert conflict.value.code == "duplicate_source_ref"
        # The same number from another source is another work order.
        phone = report(
            persona("community"), "0101", **{**base, "channel": "phone"}, source_ref="GD-001"
        )
        assert phone.pk

    def test_phone_is_encrypted_at_rest(self, persona, world):
        from django.db import connection

        case = report(
            persona("community"),
            "0101",
            grid=world["grid_a"],
            channel="phone",
            contact_phone="13912345678",
            photos=[],
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT contact_phone FROM cases_case WHERE id = %s", [case.pk])
            raw = cursor.fetchone()[0]
        assert "13912345678" not in raw and raw.startswith("t1$")

    def test_bad_phone(self, persona, world):
        with pytest.raises(InvalidInput) as error:
            report(
                persona("community"),
                "0101",
                grid=world["grid_a"],
                channel="walk_in",
                contact_phone="12345",
                photos=[],
            )
        assert "contact_phone" in fields(error.value)

    def test_residents_cannot_enter_hotline_cases(self, persona, world):
        with pytest.raises(PermissionDeniedError):
            report(
                persona("resident"),
                "0101",
                grid=world["grid_a"],
                channel="hotline",
                source_ref="X1",
            )

    def test_staff_cannot_enter_cases_outside_their_scope(self, persona, world):
        from shequ.geo.models import Region

        elsewhere = Region.objects.filter(
            level="grid", code__startswith=world["other_township"]
        ).first()
        with pytest.raises(PermissionDeniedError):
            report(persona("community"), "0101", grid=elsewhere.code, channel="phone", photos=[])

    def test_grid_patrol(self, persona, world):
        case = report(persona("grid"), "0101", grid=world["grid_a"], channel="patrol")
        assert case.channel == "patrol" and case.reporter == persona("grid")
        with pytest.raises(PermissionDeniedError):
            report(persona("resident"), "0101", grid=world["grid_a"], channel="patrol")


def test_machine_client_without_actor(world):
    lat, lng = point_in(world["grid_a"])
    case = services.case_report(
        actor=None,
        client="open311:demo",
        channel="open311",
        category="0102",
        description="Road is dirty",
        lat=lat,
        lng=lng,
        media_url="https://example.org/x.jpg",
        device_id="abc",
    )
    assert case.client == "open311:demo" and case.reporter is None
    assert case.events.first().actor_role == "client"
    with pytest.raises(PermissionDeniedError):
        services.case_report(actor=None, category="0102", description="x", lat=lat, lng=lng)
