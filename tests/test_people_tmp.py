import pytest
from shequ.people.importing import import_file
from shequ.people.models import Person, HouseLink, Household, PersonTag
from tests.people_factories import valid_id, xlsx

pytestmark = pytest.mark.django_db


def test_smoke(persona, world):
    ids = [valid_id() for _ in range(3)]
    content = xlsx(
        [
            [
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
            ],
            [
                "张三",
                ids[0],
                "19912345678",
                world["grid_a"],
                "测试小区",
                "1幢",
                "1",
                "301",
                "H1",
                "户主",
                "低保",
            ],
            [
                "李 四",
                ids[1],
                "0511-86881234",
                world["grid_a"],
                "测试小区",
                "1幢",
                "1",
                "301",
                "H1",
                "配偶",
                "残疾（肢体二级）",
            ],
            ["王五", ids[2], "", "第二网格", "", "", "", "", "", "", ""],
        ],
        title="丹凤社区实有人口登记表",
    )
    out = import_file(content, actor=persona("community"), community_code=world["community"])
    print(out.problems)
    assert out.ok, out.problems
    assert out.created == 3
    assert Person.objects.count() == 3
    out2 = import_file(content, actor=persona("community"), community_code=world["community"])
    assert out2.created == 0 and out2.unchanged == 3, out2
    assert Person.objects.count() == 3
    assert HouseLink.objects.count() == 2
    assert PersonTag.objects.count() == 2
