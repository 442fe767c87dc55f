"""The import's rough edges: the template's drop-downs and 填写说明, the documented size cap
(page, service and command), preview → 确认导入, the create-missing option on the page and the
command, and the 标签写法 page that edits the tag vocabulary."""

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from openpyxl import load_workbook

from shequ.core.models import AuditEvent
from shequ.geo.models import Building, Estate
from shequ.people.importing import FileTooLarge, import_file, purge_expired_previews
from shequ.people.importing.reading import (
    HOUSE_RELATION_WORDS,
    RELATION_WORDS,
    TEMPLATE_COLUMNS,
)
from shequ.people.importing.template import import_template
from shequ.people.models import ImportJob, Person, PersonTag, TagSynonym, TagType
from tests.support.factories import valid_id, xlsx

pytestmark = pytest.mark.django_db

LABELS = dict(TEMPLATE_COLUMNS)


def upload(client, content: bytes, world, name="taizhang.xlsx", **extra):
    data = {"file": SimpleUploadedFile(name, content), "community": world["community"], "grid": ""}
    data.update(extra)
    return client.post("/people/import/", data)


# --- the template --------------------------------------------------------------------------


def validations_by_title(sheet) -> dict[str, object]:
    titles = {cell.column_letter: cell.value for cell in sheet[1]}
    found = {}
    for validation in sheet.data_validations.dataValidation:
        letter = str(validation.sqref).split(":")[0].rstrip("0123456789")
        found[titles[letter]] = validation
    return found


def test_the_template_has_drop_downs_for_every_coded_column(world):
    book = load_workbook(io.BytesIO(import_template()))
    assert book.sheetnames == ["居民信息", "填写说明", "可选值"]
    sheet, values = book["居民信息"], book["可选值"]
    validations = validations_by_title(sheet)
    assert set(validations) == {
        "证件类型",
        "性别",
        "民族",
        "政治面貌",
        "户籍类型",
        "与户主关系",
        "与房屋关系",
        "人户一致",
        "是否落户",
        "标签",
    }
    lists = {}
    for column in values.iter_cols(values_only=True):
        lists[column[0]] = [v for v in column[1:] if v]
    for title, validation in validations.items():
        assert validation.type == "list" and validation.errorStyle == "warning"
        assert str(validation.sqref).endswith("2001")
        assert validation.formula1.startswith("='可选值'!$")
        assert lists[title], title
    assert lists["性别"] == ["男", "女"]
    assert lists["与户主关系"][:3] == ["户主", "配偶", "子女"]
    assert "汉族" in lists["民族"] and len(lists["民族"]) == 58
    assert lists["标签"] == list(
        TagType.objects.order_by("order", "code").values_list("name", flat=True)
    )
    assert validations["标签"].showErrorMessage is False  # several tags in one cell
    assert validations["性别"].showErrorMessage is True


def test_every_value_the_template_offers_is_accepted_by_the_importer(world):
    book = load_workbook(io.BytesIO(import_template()))
    values = book["可选值"]
    lists = {col[0]: [v for v in col[1:] if v] for col in values.iter_cols(values_only=True)}
    header = [
        "姓名",
        "身份证号",
        "证件类型",
        "性别",
        "民族",
        "政治面貌",
        "户籍类型",
        "与房屋关系",
        "人户一致",
        "是否落户",
        "标签",
    ]
    rows = [header]
    longest = max(len(v) for v in lists.values())
    for i in range(longest):

        def pick(title, i=i):
            column = lists[title]
            return column[i % len(column)]

        id_type = pick("证件类型")
        other = id_type.startswith("其他")
        rows.append(
            [
                "测试",
                f"E{i:08d}" if other else valid_id(),
                id_type,
                pick("性别"),
                pick("民族"),
                pick("政治面貌"),
                pick("户籍类型"),
                pick("与房屋关系"),
                pick("人户一致"),
                pick("是否落户"),
                pick("标签"),
            ]
        )
    outcome = import_file(
        xlsx(rows), actor=None, community_code=world["community"], default_grid_code=world["grid_a"]
    )
    assert outcome.ok, outcome.problems[:3]
    assert outcome.warnings == []  # every tag name is known
    # 与户主关系 and 性别 are checked by the words tables the importer uses.
    assert all(word in RELATION_WORDS for word in lists["与户主关系"])
    assert all(
        word in HOUSE_RELATION_WORDS or word in ("家庭成员",) for word in lists["与房屋关系"]
    )


def test_the_instructions_sheet_explains_every_column(world):
    notes = load_workbook(io.BytesIO(import_template()))["填写说明"]
    rows = list(notes.iter_rows(values_only=True))
    assert rows[0] == ("列名", "是否必填", "格式", "示例", "可填的值与说明")
    explained = {row[0]: row for row in rows[1 : len(TEMPLATE_COLUMNS) + 1]}
    assert list(explained) == [label for _key, label in TEMPLATE_COLUMNS]
    assert explained["姓名"][1] == explained["身份证号"][1] == "必填"
    assert explained["手机号码"][1] == "选填"
    assert "户主" in explained["与户主关系"][4] and "本人" in explained["与户主关系"][4]
    assert "低保" in explained["标签"][4] and "低保户" in explained["标签"][4]
    assert "同一房屋" in explained["户号"][4]
    text = "\n".join(str(row[0]) for row in rows if row and row[0]).replace("\xa0", " ")
    assert "10.0 MB" in text and "勾选“新建系统中没有的小区、楼栋和房屋”" in text


# --- the size cap ----------------------------------------------------------------------------


def test_the_documented_cap_is_the_setting():
    """docs/operations.md documents single uploads above 10 MB as refused
    (SHEQU_UPLOAD_MAX_BYTES); imports use that cap."""
    from pathlib import Path

    docs = (Path(settings.BASE_DIR) / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "single uploads above 10 MB" in docs and "Excel imports" in docs
    assert settings.SHEQU_UPLOAD_MAX_BYTES == 10 * 1024 * 1024


def test_a_file_one_byte_over_the_cap_is_refused_everywhere(world, client_as, tmp_path):
    content = xlsx([["姓名", "身份证号"], ["张三", valid_id()]])
    with override_settings(SHEQU_UPLOAD_MAX_BYTES=len(content)):
        outcome = import_file(
            content,
            actor=None,
            community_code=world["community"],
            default_grid_code=world["grid_a"],
        )
        assert outcome.ok  # exactly at the cap
    Person.objects.all().delete()
    with override_settings(SHEQU_UPLOAD_MAX_BYTES=len(content) - 1):
        with pytest.raises(FileTooLarge) as raised:
            import_file(content, actor=None, community_code=world["community"])
        assert raised.value.status == 413
        message = raised.value.message.replace("\xa0", " ")
        assert message.startswith("文件过大：上限为 ") and "（超出 1 字节）" in message
        response = upload(client_as("community"), content, world)
        assert response.status_code == 413
        page = response.content.decode().replace("\xa0", " ")
        assert 'id="id_file_errors"' in page and "文件过大" in page and "超出 1 字节" in page
        path = tmp_path / "big.xlsx"
        path.write_bytes(content)
        with pytest.raises(CommandError, match=r"文件过大.*超出 1\xa0字节"):
            call_command(
                "import_people", str(path), community=world["community"], stdout=io.StringIO()
            )
    assert not ImportJob.objects.exists() and not Person.objects.exists()


def test_the_page_states_the_cap(client_as):
    page = client_as("community").get("/people/import/").content.decode().replace("\xa0", " ")
    assert "文件不超过 10.0 MB" in page


# --- preview, then import --------------------------------------------------------------------


def field_file(world, *, tags="独居老人") -> bytes:
    b = Building.objects.select_related("estate").get(region_code=world["grid_a"], name="1幢")
    return xlsx(
        [
            ["序号", "姓名", "公民身份号码", "关系", "小区", "幢", "单元", "房号", "人员类别"],
            [1, "户主甲", valid_id(), "户主", b.estate.name, b.name, 1, "601", tags],
            [2, "配偶乙", valid_id(), "妻", b.estate.name, b.name, 1, "601", "火星人"],
        ],
        title="丹凤社区实有人口台账（2026年）",
    )


def test_preview_then_confirm(client_as, world, django_capture_on_commit_callbacks):
    client = client_as("community")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, field_file(world), world, dry_run="on")
    preview = ImportJob.objects.get()
    assert preview.dry_run and preview.status == "succeeded" and preview.payload != b""
    assert preview.keep_until > timezone.now() and preview.can_confirm
    assert not Person.objects.exists()
    assert preview.summary["counts"]["person"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert preview.summary["counts"]["household"]["created"] == 1
    assert preview.warning_count == 1 and preview.warnings[0]["value"] == "火星人"
    page = client.get(response["Location"]).content.decode()
    assert "预览：校验通过，尚未写入" in page and 'id="import-confirm"' in page
    assert 'id="import-summary"' in page and 'data-entity="household"' in page
    assert 'id="import-warnings"' in page and "火星人" in page
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/people/import/{preview.pk}/confirm/")
    job = ImportJob.objects.latest("id")
    assert confirmed["Location"] == f"/people/import/{job.pk}/"
    assert job.preview == preview and not job.dry_run and job.status == "succeeded"
    assert job.summary == preview.summary and job.report == preview.report
    assert Person.objects.count() == 2
    preview.refresh_from_db()
    assert preview.payload == b"" and preview.keep_until is None and not preview.can_confirm
    assert AuditEvent.objects.filter(action="people.import_confirm", object_id=str(job.pk)).exists()
    page = client.get(f"/people/import/{preview.pk}/").content.decode()
    assert "已确认导入" in page and 'id="import-confirm"' not in page
    # Confirming twice is refused with a message, nothing is imported again.
    again = client.post(f"/people/import/{preview.pk}/confirm/", follow=True)
    assert "该预览已确认导入，或已过期" in again.content.decode()
    assert ImportJob.objects.count() == 2


def test_an_expired_preview_is_purged_and_cannot_be_confirmed(
    client_as, world, django_capture_on_commit_callbacks
):
    client = client_as("community")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, field_file(world), world, dry_run="on")
    preview = ImportJob.objects.get()
    ImportJob.objects.filter(pk=preview.pk).update(keep_until=timezone.now() - timedelta(minutes=1))
    response = client.post(f"/people/import/{preview.pk}/confirm/", follow=True)
    assert "已过期" in response.content.decode() and ImportJob.objects.count() == 1
    assert purge_expired_previews() == 1
    preview.refresh_from_db()
    assert preview.payload == b"" and preview.keep_until is None
    from shequ.core import schedule

    job = {j.name: j for j in schedule.jobs()}["people.purge_import_previews"]
    assert job.every == timedelta(hours=1)


def test_a_preview_of_another_community_is_not_found(
    client_as, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(client_as("community"), field_file(world), world, dry_run="on")
    preview = ImportJob.objects.get()
    assert client_as("grid").post(f"/people/import/{preview.pk}/confirm/").status_code == 404
    ImportJob.objects.filter(pk=preview.pk).update(region_code="321181002001")
    assert client_as("community").post(f"/people/import/{preview.pk}/confirm/").status_code == 404
    assert ImportJob.objects.count() == 1


def test_create_missing_on_the_page_and_the_command(
    client_as, world, tmp_path, django_capture_on_commit_callbacks
):
    rows = [
        ["姓名", "身份证号", "网格", "小区", "楼栋", "室号"],
        ["新人", valid_id(), "第一网格", "新家园", "3幢", "101"],
    ]
    content = xlsx(rows)
    client = client_as("community")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, content, world)
    job = ImportJob.objects.latest("id")
    assert job.status == "rejected" and "系统中没有“新家园”" in job.report[0]["message"]
    assert not Estate.objects.filter(name="新家园").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, content, world, create_missing="on")
    job = ImportJob.objects.latest("id")
    assert job.status == "succeeded" and job.create_missing
    assert job.summary["new_places"]["estate"] == ["第一网格 · 新家园"]
    page = client.get(response["Location"]).content.decode()
    assert 'id="import-new-places"' in page and "新家园3幢（第一网格）" in page
    path = tmp_path / "new.xlsx"
    rows[1][1] = valid_id()
    rows[1][4] = "4幢"
    path.write_bytes(xlsx(rows))
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import_people", str(path), community=world["community"], stdout=io.StringIO())
    out = io.StringIO()
    call_command(
        "import_people", str(path), community=world["community"], create_missing=True, stdout=out
    )
    assert "新建楼栋：新家园4幢（第一网格）" in out.getvalue()
    assert Building.objects.filter(estate__name="新家园", name="4幢").exists()


# --- the tag vocabulary ----------------------------------------------------------------------


def test_an_operator_teaches_a_spelling_and_the_import_learns_it(client_as, world):
    content = xlsx([["姓名", "身份证号", "人员类别"], ["甲", valid_id(), "困难职工"]])
    first = import_file(
        content, actor=None, community_code=world["community"], default_grid_code=world["grid_a"]
    )
    assert first.ok and first.warnings and not PersonTag.objects.exists()
    client = client_as("city")
    page = client.get("/people/tags/")
    assert page.status_code == 200 and "低保户" in page.content.decode()
    response = client.post("/people/tags/", {"tag_type": "hardship", "text": " 困难职工 "})
    assert response.status_code == 302
    synonym = TagSynonym.objects.get(text="困难职工")
    assert synonym.tag_type.code == "hardship" and synonym.created_by.username == "city"
    event = AuditEvent.objects.get(action="people.tag_synonym_add")
    assert event.details == {"tag": "hardship", "text": "困难职工"} and event.actor_name == "city"
    second = import_file(
        content, actor=None, community_code=world["community"], default_grid_code=world["grid_a"]
    )
    assert second.ok and second.warnings == []
    assert PersonTag.objects.get().tag_type.code == "hardship"
    client.post(f"/people/tags/synonyms/{synonym.pk}/delete/")
    assert not TagSynonym.objects.filter(text="困难职工").exists()
    assert AuditEvent.objects.filter(action="people.tag_synonym_remove").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "这个字段是必填项"),
        ("低保户", "已经表示标签“低保”"),
        ("低保", "已经表示标签“低保”"),
        ("低保、残疾", "不能有顿号"),
        ("残疾（一级）", "不能有顿号"),
        ("很长" * 16, "最多 30 个字"),
    ],
)
def test_bad_spellings_are_form_errors(client_as, text, message):
    client = client_as("city")
    before = TagSynonym.objects.count()
    response = client.post("/people/tags/", {"tag_type": "dibao", "text": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and 'id="id_text_errors"' in page
    assert TagSynonym.objects.count() == before
    assert not AuditEvent.objects.filter(action="people.tag_synonym_add").exists()


def test_only_vocabulary_managers_see_the_page(client_as):
    for role in ("community", "grid", "township", "resident"):
        client = client_as(role)
        assert client.get("/people/tags/").status_code == 404
        synonym = TagSynonym.objects.first()
        assert client.post(f"/people/tags/synonyms/{synonym.pk}/delete/").status_code == 404
    assert TagSynonym.objects.filter(pk=synonym.pk).exists()
