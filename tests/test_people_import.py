"""Excel import: messy real-world files, all-or-nothing, the validation report, upsert by ID
number (re-import adds nothing), the command's exit status, the upload page and its job."""

import io
from datetime import date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from shequ.core.errors import PermissionDeniedError
from shequ.core.idnumbers import make_id_number, upgrade_15
from shequ.core.models import AuditEvent
from shequ.geo.models import Building, Estate, House
from shequ.people.importing import FileProblem, import_file
from shequ.people.models import Household, HouseLink, ImportJob, Person, PersonTag
from tests.support.factories import make_person, valid_id, xlsx

pytestmark = pytest.mark.django_db

HEADER = [
    "姓名",
    "身份证号",
    "手机号码",
    "网格",
    "小区",
    "楼栋",
    "单元",
    "室号",
    "户号",
    "与户主关系",
    "标签",
    "迁入日期",
]


def counts() -> dict:
    return {
        m.__name__: m.objects.count()
        for m in (Person, House, Building, Estate, HouseLink, PersonTag, Household)
    }


def run(content: bytes, actor, world, **kwargs):
    return import_file(content, actor=actor, community_code=world["community"], **kwargs)


def messy_workbook(world, ids) -> bytes:
    """A title row, a merged two-level header with synonyms, and messy cells."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["丹凤社区实有人口台账（2024年）"])
    sheet.merge_cells("A1:J1")
    sheet.append(["基本信息", None, None, "居住地址", None, None, None, "其他", None, None])
    sheet.merge_cells("A2:C2")
    sheet.merge_cells("D2:G2")
    sheet.merge_cells("H2:J2")
    sheet.append(
        [
            "名字",
            "公民身份号码",
            "联系电话",
            "所属网格",
            "楼号",
            "单元",
            "房号",
            "人员类别",
            "入住日期",
            "备注",
        ]
    )
    sheet.append(
        [
            "张 三",
            "１１０１０５１９４９１２３１００２ｘ",
            "+86 199 1234 5678",
            "第一网格",
            "1幢",
            "2",
            "301",
            "低保、残疾（肢体二级）",
            "2020年3月1日",
            "说明",
        ]
    )
    sheet.append(
        [
            "李四",
            f" {ids[0]} ",
            "0511-86881234",
            world["grid_a"],
            "1幢",
            "2",
            "302",
            "",
            datetime(2019, 5, 4),
            "",
        ]
    )
    sheet.append(
        ["王五", 110105491231003, "", "第二网格", "", "", "", "高龄", 43831, ""]
    )  # 15-digit number
    sheet.append(
        ["赵六", ids[1].lower(), "19912345679", "第一网格", "5号", "", "", "", "2021/7/9", ""]
    )
    sheet.append([None, None, None, None, None])
    sheet.append(["填表人：李社区"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_messy_file_is_understood(persona, world):
    ids = [valid_id(), make_id_number("321181", date(1988, 8, 8), 19)]
    existing = Building.objects.get(region_code=world["grid_a"], name="1幢")
    before = counts()
    outcome = run(messy_workbook(world, ids), persona("community"), world, create_missing=True)
    assert outcome.ok, outcome.problems
    assert (outcome.total, outcome.created) == (4, 4)
    assert "备注" in outcome.ignored_headers
    zhang = Person.objects.get(name="张三")
    assert zhang.id_number == "11010519491231002X" and zhang.mobile == "19912345678"
    assert zhang.region_code == world["grid_a"]
    # "1幢" with unit 2, room 301 is the grid's existing building and room.
    assert zhang.house.building == existing and (zhang.house.unit, zhang.house.room) == (2, "301")
    assert zhang.house.floor == 3
    assert HouseLink.objects.get(person=zhang).start_date == date(2020, 3, 1)
    assert {(t.tag_type.code, t.detail) for t in zhang.tags.all()} == {
        ("dibao", ""),
        ("disability", "肢体二级"),
    }
    li = Person.objects.get(name="李四")
    assert li.landline == "0511-86881234" and li.mobile == ""
    assert li.house.building == existing and li.house.room == "302"
    wang = Person.objects.get(name="王五")
    assert wang.id_number == upgrade_15("110105491231003")
    assert wang.house is None and wang.region_code == world["grid_b"]
    zhao = Person.objects.get(name="赵六")
    assert zhao.house.building.is_rural_house and zhao.house.room == "5号"
    assert HouseLink.objects.get(person=zhao).start_date == date(2021, 7, 9)
    after = counts()
    assert after["Person"] - before["Person"] == 4
    assert after["Building"] - before["Building"] == 1  # the rural "5号", created as asked
    assert after["House"] - before["House"] == 1
    new_building = zhao.house.building
    assert new_building.region_code == world["grid_a"] and new_building.code.startswith(
        world["grid_a"]
    )
    assert outcome.new_places["building"] == ["5号（第一网格）"]
    assert outcome.summary["building"] == {"created": 1, "updated": 0, "unchanged": 1}
    event = AuditEvent.objects.get(action="people.import")
    assert event.details["created"] == 4 and event.actor_name == "community"
    assert event.details["summary"]["house"]["created"] == 1


def test_one_bad_row_writes_nothing_and_every_problem_is_reported(persona, world):
    good = valid_id()
    house = House.objects.filter(region_code=world["grid_a"]).order_by("code").first()
    rows = [
        HEADER,
        [
            "好人",
            good,
            "19912345678",
            "第一网格",
            house.building.estate.name,
            house.building.name,
            str(house.unit),
            house.room,
            "H1",
            "户主",
            "低保",
            "2020-01-01",
        ],
        ["数字", 3.21181199001011e17, "", "第一网格", "", "", "", "", "", "", "", ""],
        ["校验", "110105194912310021", "", "第一网格", "", "", "", "", "", "", "", ""],
        ["电话", valid_id(), "1381234", "第一网格", "", "", "", "", "", "", "", ""],
        ["标签", valid_id(), "", "第一网格", "", "", "", "", "", "", "火星人", ""],
        ["外网格", valid_id(), "", "321181002001001", "", "", "", "", "", "", "", ""],
        ["重复", good, "", "第一网格", "", "", "", "", "", "", "", ""],
        ["未来", valid_id(), "", "第一网格", "", "", "", "", "", "", "", "2999-01-01"],
        ["", valid_id(), "", "第一网格", "", "", "", "", "", "", "", ""],
        ["无房号", valid_id(), "", "第一网格", "", "", "", "302", "", "", "", ""],
    ]
    before = counts()
    outcome = run(xlsx(rows), persona("community"), world)
    assert not outcome.ok and not outcome.written
    assert counts() == before
    problems = {(p.row, p.column): p.message for p in outcome.problems}
    assert "Excel 存成了数字" in problems[(3, "身份证号")]
    assert problems[(4, "身份证号")] == "校验位错误：应为 X。"
    assert (
        problems[(5, "手机号码")].startswith("电话号码无效")
        or "手机号码" in problems[(5, "手机号码")]
    )
    # An unknown tag is a warning, not an error: the row would import without it.
    assert (6, "标签") not in problems
    assert [(w.row, w.value) for w in outcome.warnings] == [(6, "火星人")]
    assert outcome.warnings[0].message.startswith(
        "没有“火星人”这个标签：本行已导入，但不含该标签。"
    )
    assert "不在丹凤社区内" in problems[(7, "网格")]
    assert problems[(8, "身份证号")] == "与第 2 行的身份证号重复。"
    assert problems[(9, "迁入日期")] == "迁入日期不能晚于今天。"
    assert problems[(10, "姓名")] == "姓名不能为空。"
    assert "没有填写楼栋" in problems[(11, "楼栋")]
    assert len(outcome.problems) == 8
    # Values in the report are masked.
    assert all(good not in p.value for p in outcome.problems)


def test_reimporting_the_same_file_adds_nothing(persona, world):
    rows = [HEADER] + [
        [
            f"居民{chr(0x4E00 + i)}",
            valid_id(),
            f"1991234567{i}",
            "第一网格",
            "凤凰小区",
            "2幢",
            "1",
            f"{i + 1}01",
            "H7",
            "户主" if i == 0 else "子女",
            "低保" if i == 0 else "",
            "",
        ]
        for i in range(5)
    ]
    content = xlsx(rows)
    first = run(content, persona("community"), world, create_missing=True)
    assert first.ok and first.created == 5
    snapshot = counts()
    second = run(content, persona("community"), world, create_missing=True)
    assert second.ok and (second.created, second.updated, second.unchanged) == (0, 0, 5)
    assert counts() == snapshot
    household = Household.objects.get(number="H7")
    assert (
        household.members.count() == 5
        and household.members.filter(relation_to_head="head").count() == 1
    )


def test_reimport_with_changes_updates_and_moves(persona, world):
    number = valid_id()
    content = xlsx(
        [
            HEADER,
            [
                "钱七",
                number,
                "19912345670",
                "第一网格",
                "凤凰小区",
                "3幢",
                "1",
                "101",
                "",
                "",
                "",
                "",
            ],
        ]
    )
    assert run(content, persona("community"), world, create_missing=True).created == 1
    changed = xlsx(
        [
            HEADER,
            [
                "钱七",
                number,
                "19912345671",
                "第一网格",
                "凤凰小区",
                "3幢",
                "1",
                "502",
                "",
                "",
                "",
                "",
            ],
        ]
    )
    outcome = run(changed, persona("community"), world, create_missing=True)
    assert (outcome.created, outcome.updated) == (0, 1)
    assert outcome.summary["house_link"] == {"created": 1, "updated": 1, "unchanged": 0}
    person = Person.objects.get(name="钱七")
    assert person.mobile == "19912345671" and person.house.room == "502"
    links = list(HouseLink.objects.filter(person=person).order_by("id"))
    assert [link.status for link in links] == ["out", "in"]


def test_id_registered_in_another_community_is_a_conflict(persona, world):
    other_grid = (
        House.objects.filter(region_code__startswith=world["other_township"]).first().region_code
    )
    existing = make_person(grid_code=other_grid, name="孙大圣")
    outcome = run(
        xlsx([HEADER, ["孙大圣", existing.id_number, "", "第一网格"] + [""] * 8]),
        persona("community"),
        world,
    )
    assert not outcome.ok
    (problem,) = outcome.problems
    assert "已登记在其他社区" in problem.message and "孙*圣" in problem.message
    assert existing.id_number not in problem.message
    assert Person.objects.get(pk=existing.pk).region_code == other_grid


def test_place_from_an_existing_building_or_the_default_grid(persona, world):
    building = Building.objects.filter(region_code=world["grid_b"], estate__isnull=False).first()
    room = House.objects.filter(building=building, unit=1).order_by("code").last().room
    header = ["姓名", "身份证号", "小区", "楼栋", "单元", "室号"]
    content = xlsx(
        [
            header,
            ["周一", valid_id(), building.estate.name, building.name, "1", room],
            ["吴二", valid_id(), "", "", "", ""],
        ]
    )
    outcome = run(content, persona("community"), world)
    assert not outcome.ok and "无法确定所在网格" in outcome.problems[0].message
    outcome = run(content, persona("community"), world, default_grid_code=world["grid_a"])
    assert outcome.ok
    assert Person.objects.get(name="周一").house.building == building
    assert Person.objects.get(name="周一").region_code == world["grid_b"]
    assert Person.objects.get(name="吴二").region_code == world["grid_a"]


def test_whole_file_problems(persona, world):
    with pytest.raises(FileProblem, match="无法读取文件"):
        run(b"not an excel file", persona("community"), world)
    with pytest.raises(FileProblem, match="找不到表头"):
        run(xlsx([["甲", "乙"], ["1", "2"]]), persona("community"), world)
    with pytest.raises(FileProblem, match="找不到“身份证号”列"):
        run(xlsx([["姓名", "手机号码"], ["张三", "19912345678"]]), persona("community"), world)
    with pytest.raises(FileProblem, match="没有数据行"):
        run(xlsx([["姓名", "身份证号"]]), persona("community"), world)
    with pytest.raises(PermissionDeniedError):
        run(xlsx([["姓名", "身份证号"], ["张三", valid_id()]]), persona("grid"), world)


def test_command_exit_status_and_dry_run(tmp_path, world):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([["姓名", "身份证号"], ["张三", "110105194912310021"]]))
    with pytest.raises(CommandError, match="1 处错误"):
        call_command(
            "import_people",
            str(bad),
            community=world["community"],
            grid=world["grid_a"],
            stdout=io.StringIO(),
        )
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx([["姓名", "身份证号"], ["张三", valid_id()], ["李四", valid_id()]]))
    out = io.StringIO()
    call_command(
        "import_people",
        str(good),
        community=world["community"],
        grid=world["grid_a"],
        dry_run=True,
        stdout=out,
    )
    assert "预览（未写入）" in out.getvalue() and not Person.objects.exists()
    assert "居民：新增 2，更新 0，未变化 0" in out.getvalue()
    call_command(
        "import_people", str(good), community=world["community"], grid=world["grid_a"], stdout=out
    )
    assert Person.objects.count() == 2
    with pytest.raises(CommandError, match="社区代码无效"):
        call_command("import_people", str(good), community="123", stdout=out)


def upload(client, content: bytes, world, name="renkou.xlsx", **extra):
    data = {"file": SimpleUploadedFile(name, content), "community": world["community"], "grid": ""}
    data.update(extra)
    return client.post("/people/import/", data)


def test_upload_page_runs_a_background_job_with_report(
    client_as, world, django_capture_on_commit_callbacks
):
    client = client_as("community")
    bad = xlsx(
        [
            ["姓名", "身份证号", "网格"],
            ["张三", valid_id(), "第一网格"],
            ["李四", "110105194912310021", "第一网格"],
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, bad, world)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == "rejected" and job.error_count == 1 and job.payload == b""
    assert job.task_id
    page = client.get(response["Location"]).content.decode()
    assert "校验位错误：应为 X。" in page and "未写入任何数据" in page
    fragment = client.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="job-status"') and "hx-get" not in fragment
    report = client.get(f"/people/import/{job.pk}/report.xlsx")
    sheet = load_workbook(io.BytesIO(report.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert (
        rows[2][:2] == (3, "身份证号")
        and "1101" in rows[2][2]
        and "110105194912310021" not in rows[2][2]
    )
    assert not Person.objects.exists()
    fixed = xlsx(
        [
            ["姓名", "身份证号", "网格"],
            ["张三", valid_id(), "第一网格"],
            ["李四", "11010519491231002X", "第一网格"],
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, fixed, world)
    job = ImportJob.objects.latest("id")
    assert job.status == "succeeded" and job.created_count == 2 and job.percent == 100
    assert "导入完成" in client.get(response["Location"]).content.decode()
    assert Person.objects.count() == 2
    upload_event = AuditEvent.objects.filter(action="people.import_upload").latest("id")
    assert upload_event.ip == "127.0.0.1" and upload_event.object_id == str(job.pk)
    assert AuditEvent.objects.get(action="people.import").object_id == str(job.pk)


def test_upload_refuses_other_files_and_roles(client_as, world):
    response = upload(client_as("community"), b"hello", world, name="a.csv")
    assert response.status_code == 400 and "请上传 Excel 工作簿" in response.content.decode()
    assert client_as("grid").get("/people/import/").status_code == 404
    assert not ImportJob.objects.exists()


def test_the_template_imports_as_it_is(client_as, world):
    content = client_as("community").get("/people/import/template.xlsx").content
    header = next(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert header[:3] == ("姓名", "身份证号", "证件类型")
    # The example's estate is not in the demo data: it imports when asked to create it.
    refused = run(content, None, world)
    assert not refused.ok and "凤凰小区" in refused.problems[0].message
    outcome = run(content, None, world, create_missing=True)
    assert outcome.ok and outcome.created == 2 and not outcome.warnings
    head = Person.objects.get(name="张三")
    spouse = Person.objects.get(name="李芳")
    assert head.id_number == "11010519491231002X" and head.relation_to_head == "head"
    assert spouse.household == head.household and spouse.relation_to_head == "spouse"
    assert head.house == spouse.house and head.house.building.estate.name == "凤凰小区"
    assert {t.tag_type.code for t in spouse.tags.all()} == {"living_alone"}
