"""ID numbers (GB 11643, MOD 11-2), legacy 15-digit upgrade, HK/MO/TW permits; phone rules;
name rules — every error in Chinese naming the rule that failed."""

from datetime import date

import pytest

from shequ.core.errors import InvalidInput
from shequ.core.idnumbers import (
    check_char,
    make_id_number,
    normalize_id_number,
    parse_id_number,
    upgrade_15,
)
from shequ.people.validation import clean_person, parse_identity, validate_name

STANDARD = "11010519491231002X"  # the standard's own example


def test_standard_example_is_valid_and_derives_gender_and_birth():
    parsed = parse_id_number(STANDARD)
    assert parsed.number == STANDARD
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.gender == "F"  # sequence 002: even
    assert not parsed.is_permit


@pytest.mark.parametrize("position", range(18))
def test_every_single_digit_change_is_invalid(position):
    for replacement in "0123456789X":
        if replacement == STANDARD[position] or (replacement == "X" and position != 17):
            continue
        changed = STANDARD[:position] + replacement + STANDARD[position + 1 :]
        with pytest.raises(InvalidInput) as excinfo:
            parse_id_number(changed)
        assert excinfo.value.details["rule"] in ("check_digit", "birth_date", "address")


def test_check_digit_error_names_the_expected_character():
    with pytest.raises(InvalidInput) as excinfo:
        parse_id_number("110105194912310021")
    assert excinfo.value.message == "校验位错误：应为 X。"
    assert excinfo.value.details == {"rule": "check_digit"}


def test_weights_and_check_characters():
    # S = Σ(digit × weight) mod 11; check = "10X98765432"[S]
    assert check_char("11010519491231002") == "X"
    assert check_char("32118119900101001") == make_id_number("321181", date(1990, 1, 1), 1)[-1]


def test_lower_case_x_full_width_and_spaces_are_normalised():
    assert normalize_id_number(" 110105 19491231 002x ") == STANDARD
    assert normalize_id_number("１１０１０５１９４９１２３１００２Ｘ") == STANDARD


def test_legacy_15_digit_number_is_upgraded_to_18():
    assert upgrade_15("110105491231002") == STANDARD
    parsed = parse_id_number("110105491231002")
    assert parsed.number == STANDARD and parsed.upgraded_from_15
    assert parsed.birth_date == date(1949, 12, 31)


def test_birth_date_rules():
    future = make_id_number("321181", date(2090, 1, 1), 11)
    with pytest.raises(InvalidInput) as excinfo:
        parse_id_number(future, today=date(2024, 1, 1))
    assert "出生日期错误" in excinfo.value.message
    first17 = "32118119490231001"  # 31 February
    with pytest.raises(InvalidInput) as excinfo:
        parse_id_number(first17 + check_char(first17))
    assert excinfo.value.message.startswith("出生日期错误：第 7–14 位 19490231")


def test_length_and_character_rules_are_named():
    with pytest.raises(InvalidInput, match=r"位数错误.*实际为 17 位"):
        parse_id_number("11010519491231002")
    with pytest.raises(InvalidInput, match="前 17 位只能是数字"):
        parse_id_number("1101051949123100AX")
    with pytest.raises(InvalidInput, match="不能为空"):
        parse_id_number("  ")


def test_address_code_need_not_be_danyang():
    for address in ("110105", "510104", "321124", "440304"):
        assert parse_id_number(make_id_number(address, date(1975, 3, 9), 27)).gender == "M"


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_hk_mo_tw_residence_permits(prefix):
    number = make_id_number(prefix, date(1988, 8, 8), 36)
    parsed = parse_id_number(number)
    assert parsed.is_permit and parsed.gender == "F"
    assert parse_identity(number).id_type == "hmt_permit"


def test_passports_need_gender():
    with pytest.raises(InvalidInput, match="须填写性别"):
        parse_identity("E12345678", id_type="other")
    identity = parse_identity("e12345678", id_type="other", gender="M")
    assert identity.number == "E12345678" and identity.birth_date is None


def test_phone_rules_in_chinese():
    data = clean_person(
        {"name": "王小明", "id_number": STANDARD, "mobile": "1381234567", "landline": "86881234"}
    )
    assert data.errors["mobile"] == "手机号码应为 11 位，实际为 10 位。"
    assert "带区号" in data.errors["landline"]
    ok = clean_person(
        {
            "name": "王小明",
            "id_number": STANDARD,
            "mobile": "+86 138 1234 5678",
            "landline": "0511 86881234",
        }
    )
    assert not ok.errors and ok.mobile == "13812345678" and ok.landline == "0511-86881234"


def test_name_rules():
    assert validate_name(" 张 三 ") == "张三"
    assert validate_name("买买提・艾力") == "买买提·艾力"
    assert validate_name("John  Smith") == "John Smith"
    with pytest.raises(InvalidInput, match="无效字符“3”"):
        validate_name("张3")
    with pytest.raises(InvalidInput, match="不能为空"):
        validate_name("")


def test_choices_accept_chinese_labels():
    data = clean_person(
        {
            "name": "王小明",
            "id_number": STANDARD,
            "ethnicity": "回族",
            "political_status": "中共党员",
            "registration_type": "流动",
            "relation_to_head": "本人",
        }
    )
    assert not data.errors
    assert (data.ethnicity, data.political_status, data.registration_type) == (
        "03",
        "cpc",
        "floating",
    )
    assert data.relation_to_head == "head"
    bad = clean_person({"name": "王小明", "id_number": STANDARD, "ethnicity": "火星族"})
    assert bad.errors["ethnicity"] == "民族“火星族”不是有效的取值。"
