"""The 台账 as communities keep it: title rows, a 序号 column, blank spacer rows, header
synonyms, no 户号 (households are the people of one house under their 户主), tags in their
common spellings — and the edge cases of each: households, places, tags, headers."""

import io
from datetime import date

import pytest
from openpyxl import Workbook

from shequ.core.idnumbers import make_id_number
from shequ.geo.models import Building, Estate, House
from shequ.people.importing import FileProblem, import_file
from shequ.people.models import Household, HouseLink, Person, PersonTag
from tests.support.factories import make_person, valid_id, xlsx

pytestmark = pytest.mark.django_db

FIELD_HEADER = [
    "序号",
    "姓名",
    "性别",
    "公民身份号码",
    "关系",
    "小区",
    "幢",
    "单元",
    "房号",
    "联系电话",
    "人员类别",
    "备注",
]


def person_id(year: int, seq: int) -> str:
    return make_id_number("321181", date(year, 3, 9), seq)


def gender_of(number: str) -> str:
    return "男" if int(number[16]) % 2 else "女"


def rooms(world, grid="grid_a", building="1幢"):
    """The estate and building names of a demo building, and a function giving its houses."""
    b = Building.objects.select_related("estate").get(region_code=world[grid], name=building)

    def house(unit: int, room: str) -> House:
        return House.objects.get(building=b, unit=unit, room=room)

    return b.estate.name, b.name, house


def ledger(rows, *, header=FIELD_HEADER, titles=("丹凤社区实有人口台账（2026年）",)) -> bytes:
    """A 台账 the way communities keep it: merged title rows above the header."""
    workbook = Workbook()
    sheet = workbook.active
    for line, title in enumerate(titles, start=1):
        sheet.append([title])
        sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=len(header))
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(content: bytes, world, actor=None, **kwargs):
    return import_file(content, actor=actor, community_code=world["community"], **kwargs)


def field_rows(world):
    estate, building, _house = rooms(world)
    ids = {name: person_id(1950 + i, 21 + 2 * i) for i, name in enumerate("甲乙丙丁戊己庚")}

    def row(serial, name, key, relation, unit, room, phone="", tags="", b=building):
        number = ids[key]
        return [
            serial,
            name,
            gender_of(number),
            number,
            relation,
            estate,
            b,
            unit,
            room,
            phone,
            tags,
        ]

    return ids, [
        row(1, "张建国", "甲", "户主", 1, "301", "13912345678", "独居老人"),
        row(2, "李秀英", "乙", "妻", 1, "301", "", "低保户、残疾人（肢体二级）"),
        row(3, "张伟", "丙", "子", 1, "301"),
        [],
        # The same house written three ways; two 户主 in it are two households.
        row(4, "王芳", "丁", "户主", 1, "302室", "", "空巢老人", b=building.replace("幢", "栋")),
        row(5, "刘洋", "戊", "户主", "1单元", "302", "", "退役军人", b="1号楼"),
        row(6, "刘小宝", "己", "子", 1, "0302", "", "留守儿童"),
        [7],
        row(8, "陈军", "庚", "本人", 2, "401", "19912340000", "低保"),
        [9],
        [10],
        [None, "以下空白"],
    ]


def test_a_field_ledger_imports_cleanly_with_its_households(world, persona):
    ids, rows = field_rows(world)
    _estate, _building, house = rooms(world)
    before = Household.objects.count()
    outcome = run(
        ledger(rows, titles=("丹凤社区实有人口台账（2026年）", "填报单位：丹凤社区居委会")),
        world,
        persona("community"),
    )
    assert outcome.ok, outcome.problems
    assert outcome.warnings == [] and outcome.ignored_headers == ["备注"]
    assert (outcome.total, outcome.created) == (7, 7)
    people = {p.name: p for p in Person.objects.select_related("household", "house")}
    zhang, li, wei = people["张建国"], people["李秀英"], people["张伟"]
    assert zhang.household == li.household == wei.household is not None
    assert [zhang.relation_to_head, li.relation_to_head, wei.relation_to_head] == [
        "head",
        "spouse",
        "child",
    ]
    assert zhang.house == house(1, "301") == zhang.household.house
    wang, liu, bao = people["王芳"], people["刘洋"], people["刘小宝"]
    assert wang.house == liu.house == bao.house == house(1, "302")
    assert wang.household != liu.household and bao.household == liu.household
    assert wang.household.members.count() == 1
    chen = people["陈军"]
    assert chen.relation_to_head == "head" and chen.house == house(2, "401")
    assert Household.objects.count() - before == 4
    assert all(p.household.number.startswith(world["grid_a"] + "H") for p in people.values())
    tags = {
        name: sorted(t.tag_type.code for t in PersonTag.objects.filter(person__name=name))
        for name in people
    }
    assert tags == {
        "张建国": ["living_alone"],
        "李秀英": ["dibao", "disability"],
        "张伟": [],
        "王芳": ["empty_nest"],
        "刘洋": ["veteran"],
        "刘小宝": ["left_behind_children"],
        "陈军": ["dibao"],
    }
    assert PersonTag.objects.get(person=li, tag_type__code="disability").detail == "肢体二级"
    assert outcome.summary["household"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert outcome.summary["house"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert outcome.summary["tag"]["created"] == 7
    assert not any(outcome.new_places.values())
    assert zhang.id_number == ids["甲"]

    again = run(ledger(rows), world, persona("community"))
    assert again.ok and again.warnings == []
    assert again.summary["person"] == {"created": 0, "updated": 0, "unchanged": 7}
    assert again.summary["household"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert Household.objects.count() - before == 4


def test_a_household_number_is_used_when_present(world):
    estate, building, house = rooms(world)
    header = ["姓名", "身份证号", "户号", "与户主关系", "小区", "楼栋", "单元", "室号"]
    a, b, c = valid_id(), valid_id(), valid_id()
    content = xlsx(
        [
            header,
            ["甲一", a, "HH-1", "户主", estate, building, 1, "501"],
            ["甲二", b, "HH-1", "女儿", estate, building, 1, "501"],
            # People of one 户号 in different houses: accepted (人户分离), with a warning.
            ["甲三", c, "HH-1", "孙子", estate, building, 2, "601"],
        ]
    )
    outcome = run(content, world)
    assert outcome.ok, outcome.problems
    household = Household.objects.get(number="HH-1")
    assert household.house == house(1, "501")  # the head's house
    assert set(household.members.values_list("name", flat=True)) == {"甲一", "甲二", "甲三"}
    assert Person.objects.get(name="甲三").house == house(2, "601")
    (note,) = outcome.warnings
    assert (note.row, note.column, note.level) == (2, "户号", "warning")
    assert "住在不同的房屋（第 2、3、4 行）" in note.message


def test_a_house_without_a_head_row(world):
    estate, building, house = rooms(world)
    header = ["姓名", "身份证号", "与户主关系", "小区", "楼栋", "单元", "室号"]
    # No 户主 in the file and no household in the house: imported, not grouped, warned.
    content = xlsx(
        [
            header,
            ["无主一", valid_id(), "配偶", estate, building, 1, "701"],
            ["无主二", valid_id(), "子女", estate, building, 1, "701"],
        ]
    )
    outcome = run(content, world)
    assert outcome.ok
    assert set(
        Person.objects.filter(name__startswith="无主").values_list("household", flat=True)
    ) == {None}
    assert all(p.house == house(1, "701") for p in Person.objects.filter(name__startswith="无主"))
    (note,) = outcome.warnings
    assert note.row == 2 and "没有户主一行" in note.message and "第 2、3 行" in note.message
    assert outcome.summary["household"]["created"] == 0
    # Importing the 户主 later groups them.
    head = ["户主来", valid_id(), "户主", estate, building, 1, "701"]
    rows = [header, head] + [
        [p.name, p.id_number, "配偶" if p.name == "无主一" else "子女", estate, building, 1, "701"]
        for p in Person.objects.filter(name__startswith="无主").order_by("name")
    ]
    later = run(xlsx(rows), world)
    assert later.ok and later.warnings == []
    household = Person.objects.get(name="户主来").household
    assert set(household.members.values_list("name", flat=True)) == {"户主来", "无主一", "无主二"}


def test_members_join_the_household_already_living_in_the_house(world):
    estate, building, house = rooms(world)
    home = house(1, "801")
    household = Household.objects.create(number="OLD-1", house=home, region_code=home.region_code)
    make_person(house=home, name="老户主", household=household, relation_to_head="head")
    content = xlsx(
        [
            ["姓名", "身份证号", "与户主关系", "小区", "楼栋", "单元", "室号"],
            ["新成员", valid_id(), "孙女", estate, building, 1, "801"],
        ]
    )
    outcome = run(content, world)
    assert outcome.ok and outcome.warnings == []
    assert Person.objects.get(name="新成员").household == household
    assert outcome.summary["household"] == {"created": 0, "updated": 1, "unchanged": 0}


def test_rows_before_the_first_of_two_heads_are_not_guessed(world):
    estate, building, _house = rooms(world)
    content = xlsx(
        [
            ["姓名", "身份证号", "与户主关系", "小区", "楼栋", "单元", "室号"],
            ["先来", valid_id(), "子女", estate, building, 1, "901"],
            ["户主一", valid_id(), "户主", estate, building, 1, "901"],
            ["户主二", valid_id(), "户主", estate, building, 1, "901"],
            ["跟随", valid_id(), "配偶", estate, building, 1, "901"],
        ]
    )
    outcome = run(content, world)
    assert outcome.ok
    assert Person.objects.get(name="先来").household is None
    assert Person.objects.get(name="跟随").household == Person.objects.get(name="户主二").household
    (note,) = outcome.warnings
    assert note.row == 2 and "同一房屋有 2 个户主" in note.message


def test_a_relation_without_a_house_or_number_cannot_be_grouped(world):
    content = xlsx([["姓名", "身份证号", "与户主关系"], ["无房", valid_id(), "户主"]])
    outcome = run(content, world, default_grid_code=world["grid_a"])
    assert outcome.ok and Person.objects.get(name="无房").household is None
    assert "无法编户" in outcome.warnings[0].message


def test_an_unknown_relation_word_is_an_error(world):
    estate, building, _house = rooms(world)
    content = xlsx(
        [
            ["姓名", "身份证号", "关系", "小区", "楼栋", "单元", "室号"],
            ["甲", valid_id(), "户主", estate, building, 1, "1001"],
            ["乙", valid_id(), "老伴儿", estate, building, 1, "1001"],
            ["丙", valid_id(), "女婿", estate, building, 1, "1001"],
        ]
    )
    outcome = run(content, world)
    assert not outcome.ok and not Person.objects.exists()
    (problem,) = outcome.problems
    assert (problem.row, problem.column, problem.value) == (3, "与户主关系", "老伴儿")
    assert "无法识别" in problem.message and "户主、配偶、子女" in problem.message


# --- tags ------------------------------------------------------------------------------------


def test_unknown_tags_are_warnings_with_the_closest_match(
    world, persona, client_as, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    header = ["姓名", "身份证号", "人员类别"]
    content = xlsx(
        [
            header,
            ["甲", valid_id(), "独居老年人家庭、低保"],
            ["乙", valid_id(), "残疾人员"],
            ["丙", valid_id(), "火星人"],
            ["丁", valid_id(), "社区矫正"],  # the community may not import this class
        ]
    )
    outcome = run(content, world, persona("community"), default_grid_code=world["grid_a"])
    assert outcome.ok and outcome.created == 4
    warnings = {(w.row, w.value): w.message for w in outcome.warnings}
    assert set(warnings) == {(2, "独居老年人家庭"), (4, "火星人"), (5, "社区矫正")}
    assert "最接近的是“独居”" in warnings[(2, "独居老年人家庭")]
    assert "最接近" not in warnings[(4, "火星人")]
    assert "没有导入“社区矫正”标签的权限" in warnings[(5, "社区矫正")]
    assert [t.tag_type.code for t in PersonTag.objects.filter(person__name="甲")] == ["dibao"]
    assert [t.tag_type.code for t in PersonTag.objects.filter(person__name="乙")] == ["disability"]
    assert not PersonTag.objects.filter(person__name__in=["丙", "丁"]).exists()
    # Through the page, the report lists the warnings.
    again = xlsx([header, ["戊", valid_id(), "独居老年人家庭"]])
    client = client_as("community")
    data = {
        "file": SimpleUploadedFile("taizhang.xlsx", again),
        "community": world["community"],
        "grid": world["grid_a"],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/people/import/", data)
    page = client.get(response["Location"]).content.decode()
    assert 'id="import-warnings"' in page and "最接近的是“独居”" in page
    assert Person.objects.filter(name="戊").exists()


def test_a_column_per_tag(world):
    header = ["姓名", "身份证号", "是否低保", "残疾人", "高龄"]
    content = xlsx(
        [
            header,
            ["甲", valid_id(), "是", "", "√"],
            ["乙", valid_id(), "否", "视力二级", ""],
        ]
    )
    outcome = run(content, world, default_grid_code=world["grid_a"])
    assert outcome.ok and outcome.ignored_headers == [] and outcome.warnings == []
    got = {
        (t.person.name, t.tag_type.code, t.detail)
        for t in PersonTag.objects.select_related("person", "tag_type")
    }
    assert got == {("甲", "dibao", ""), ("甲", "elderly_80", ""), ("乙", "disability", "视力二级")}


def test_the_seeded_synonyms_cover_the_common_spellings(world):
    from shequ.people.importing.tags import Vocabulary

    vocabulary = Vocabulary()
    expected = {
        "独居老人": "living_alone",
        "独居": "living_alone",
        "低保户": "dibao",
        "低保": "dibao",
        "残疾人": "disability",
        "残疾": "disability",
        "空巢老人": "empty_nest",
        "留守儿童": "left_behind_children",
        "退役军人": "veteran",
        "五保户": "tekun",
        "ｄｉｂａｏ": "dibao",  # a code, full-width
    }
    assert {word: vocabulary.lookup(word).code for word in expected} == expected


# --- places ----------------------------------------------------------------------------------


def test_unknown_places_are_errors_that_name_them(world):
    estate, building, _house = rooms(world)
    header = ["姓名", "身份证号", "网格", "小区", "楼栋", "单元", "室号"]
    misspelt = estate[:-1] + "园" if not estate.endswith("园") else estate[:-1] + "苑"
    content = xlsx(
        [
            header,
            ["甲", valid_id(), "", misspelt, "1幢", 1, "301"],
            ["乙", valid_id(), "", estate, "99幢", 1, "301"],
            ["丙", valid_id(), "", estate, building, 1, "9901"],
            ["丁", valid_id(), "第二网格", estate, building, 1, "301"],
            ["戊", valid_id(), "", estate, building, "", "301"],  # 3 units have a 301
        ]
    )
    before = (Estate.objects.count(), Building.objects.count(), House.objects.count())
    outcome = run(content, world)
    assert not outcome.ok
    problems = {p.row: (p.column, p.message) for p in outcome.problems}
    assert problems[2][0] == "小区" and f"系统中没有“{misspelt}”这个小区" in problems[2][1]
    assert f"最接近的是“{estate}”" in problems[2][1] and "--create-missing" in problems[2][1]
    assert problems[3][0] == "楼栋" and f"{estate}没有“99幢”这个楼栋或门牌" in problems[3][1]
    assert problems[4][0] == "室号" and "1单元9901室" in problems[4][1]
    assert problems[5][0] == "网格" and "与“网格”列填写的第二网格不一致" in problems[5][1]
    assert problems[6][0] == "单元" and "请填写单元" in problems[6][1]
    assert (Estate.objects.count(), Building.objects.count(), House.objects.count()) == before
    assert not Person.objects.exists()


def test_missing_places_are_created_only_when_asked_and_listed(world):
    estate, _building, _house = rooms(world)
    header = ["姓名", "身份证号", "网格", "小区", "楼栋", "单元", "室号"]
    content = xlsx(
        [
            header,
            ["甲", valid_id(), "第一网格", "新建小区", "1幢", 1, "101"],
            ["乙", valid_id(), "第一网格", "新建小区", "1幢", 1, "102"],
            ["丙", valid_id(), "", estate, "88幢", 2, "1203"],
        ]
    )
    before = (Estate.objects.count(), Building.objects.count(), House.objects.count())
    dry = run(content, world, dry_run=True, create_missing=True)
    assert dry.ok and (Estate.objects.count(), Building.objects.count()) == before[:2]
    outcome = run(content, world, create_missing=True)
    assert outcome.ok and outcome.new_places == dry.new_places
    assert outcome.new_places["estate"] == ["第一网格 · 新建小区"]
    assert outcome.new_places["building"] == [
        "新建小区1幢（第一网格）",
        f"{estate}88幢（第一网格）",
    ]
    assert outcome.new_places["house"] == [
        "新建小区1幢1单元101室",
        "新建小区1幢1单元102室",
        f"{estate}88幢2单元1203室",
    ]
    after = (Estate.objects.count(), Building.objects.count(), House.objects.count())
    assert tuple(a - b for a, b in zip(after, before, strict=True)) == (1, 2, 3)
    new = Building.objects.get(estate__name=estate, name="88幢")
    assert (new.floors, new.units, new.is_rural_house) == (12, 2, False)
    assert Person.objects.get(name="丙").house.floor == 12


def test_building_names_compare_loosely(world):
    estate, _building, house = rooms(world)
    header = ["姓名", "身份证号", "小区", "楼栋", "单元", "室号"]
    content = xlsx(
        [
            header,
            ["甲", valid_id(), estate, "1栋", 1, "201室"],
            ["乙", valid_id(), estate, "1号楼", "1单元", "202"],
            ["丙", valid_id(), estate, "１ 幢", "２", "0201"],
        ]
    )
    outcome = run(content, world)
    assert outcome.ok, outcome.problems
    assert Person.objects.get(name="甲").house == house(1, "201")
    assert Person.objects.get(name="乙").house == house(1, "202")
    assert Person.objects.get(name="丙").house == house(2, "201")


def test_unit_and_room_written_together(world):
    estate, building, house = rooms(world)
    content = xlsx(
        [
            ["姓名", "身份证号", "小区", "楼栋", "室号"],
            ["甲", valid_id(), estate, building, "2-1101"],
        ]
    )
    outcome = run(content, world)
    assert outcome.ok, outcome.problems
    assert Person.objects.get(name="甲").house == house(2, "1101")


# --- headers ---------------------------------------------------------------------------------


def test_a_two_level_header_with_a_sparse_lower_row(world):
    estate, building, house = rooms(world)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["实有人口台账"])
    sheet.append(["序号", "姓名", "身份证号码", "居住地址", None, None, None, "手机号"])
    sheet.append([None, None, None, "小区", "楼栋", "单元", "房号", None])
    sheet.merge_cells("D2:G2")
    sheet.append([1, "甲", valid_id(), estate, building, 1, "1201", "13912345670"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    outcome = run(buffer.getvalue(), world)
    assert outcome.ok, outcome.problems
    assert outcome.total == 1 and outcome.ignored_headers == []
    assert Person.objects.get(name="甲").house == house(1, "1201")


def test_a_repeated_header_is_skipped_with_a_warning(world):
    header = ["序号", "姓名", "身份证号"]
    content = xlsx(
        [header, [1, "甲", valid_id()], header, [2, "乙", valid_id()]],
        title="实有人口台账",
    )
    outcome = run(content, world, default_grid_code=world["grid_a"])
    assert outcome.ok and outcome.created == 2
    assert [(w.row, w.message) for w in outcome.warnings] == [
        (4, "第 4 行与表头相同（重复的表头），已跳过。")
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["说明", "备注"], ["甲", "乙"]], "找不到表头"),
        ([["姓名", "手机号码"], ["甲", "19912345678"]], "找不到“身份证号”列"),
        ([["姓名", "联系电话", "小区"], ["甲", "19912345678", "春江"]], "找不到“身份证号”列"),
        (
            [["姓名", "身份证号", "电话"], ["身份证号", "姓名", "电话"], ["甲", "1", ""]],
            "第 1 行和第 2 行都是表头",
        ),
        (
            [["姓名", "身份证号"], ["甲", "11010519491231002X"], ["序号", "姓名", "身份证号"]],
            "第 4 行又是一行表头",
        ),
    ],
    ids=["no-header", "missing-id", "missing-id-2", "two-headers", "second-table"],
)
def test_bad_headers_refuse_the_file(world, rows, message):
    content = xlsx(rows) if "又是" not in message else xlsx(rows, title="台账")
    with pytest.raises(FileProblem, match=message):
        run(content, world, default_grid_code=world["grid_a"])
    assert not Person.objects.exists()


def test_blank_serial_and_note_rows_are_not_data(world):
    content = ledger(
        [
            [1, "甲", "", valid_id()],
            [None, None, None, "   "],
            [2],
            ["", "以下空白"],
            [None, "合计：1 人"],
        ],
        header=["序号", "姓名", "性别", "身份证号"],
    )
    outcome = run(content, world, default_grid_code=world["grid_a"])
    assert outcome.ok and outcome.total == 1 and outcome.warnings == []


def test_relation_and_house_links_of_a_move_inside_the_ledger(world):
    estate, building, house = rooms(world)
    number = valid_id()
    header = ["姓名", "身份证号", "关系", "小区", "楼栋", "单元", "室号"]
    run(xlsx([header, ["搬家", number, "户主", estate, building, 1, "1301"]]), world)
    household = Person.objects.get(name="搬家").household
    outcome = run(xlsx([header, ["搬家", number, "户主", estate, building, 1, "1302"]]), world)
    assert outcome.ok
    person = Person.objects.get(name="搬家")
    # The family moves with its head: the same household, now at the new house.
    assert person.household == household and person.house == house(1, "1302")
    household.refresh_from_db()
    assert household.house == house(1, "1302")
    assert outcome.summary["household"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert [link.status for link in HouseLink.objects.filter(person=person).order_by("id")] == [
        "out",
        "in",
    ]
