"""Cell parsers of the spreadsheet import: each format offices write, and each rule's message.

Pure functions: no database, files or network.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from geo import programme
from loaders.imports import values as v
from loaders.imports.values import (
    CATEGORIES,
    CLAIM_STATUSES,
    DECISIONS,
    EVENT_STATUSES,
    EXCLUSIONS,
    ORGANISATION_KINDS,
    SECTIONS,
    SEVERITIES,
    STAGES,
    WAN,
    Vocabulary,
    is_blank,
    money_unit,
    parse_bool,
    parse_coordinate_pair,
    parse_date,
    parse_decimal,
    parse_district,
    parse_int,
    parse_label,
    parse_money,
    parse_rate,
    parse_share,
    parse_text,
    parse_uscc,
)

MAY_1 = dt.date(2023, 5, 1)
VALID_USCC = "91350100M000100Y43"
KUNMING = {
    "530102": "五华区", "530103": "盘龙区", "530111": "官渡区", "530112": "西山区",
    "530126": "石林彝族自治县", "530181": "安宁市",
}
BLANKS = (None, "", "   ", "\t", "-", "—", "——", "－", "/", "／", "无", " 无 ", float("nan"))


def _raises(func, *args, phrase: str, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert phrase in message, message
    return message


# ---------------------------------------------------------------- blanks


@pytest.mark.parametrize("cell", BLANKS)
def test_is_blank(cell):
    assert is_blank(cell)


@pytest.mark.parametrize("cell", ["0", 0, 0.0, False, "无锡", "x", "--5"])
def test_is_not_blank(cell):
    assert not is_blank(cell)


PARSERS = [
    parse_date, parse_money, parse_rate, parse_share, parse_int, parse_decimal, parse_bool,
    parse_uscc, parse_text,
    lambda c: parse_label(c, SEVERITIES, "严重程度"),
    lambda c: parse_district(c, KUNMING),
    lambda c: parse_coordinate_pair(c, c),
]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("cell", BLANKS)
def test_every_parser_reads_a_blank_cell_as_none(parse, cell):
    assert parse(cell) is None


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize("cell", [
    "2023-05-01", "2023-5-1", "2023/5/1", "2023/05/01", "2023.5.1", "2023年5月1日",
    "2023年05月01日", "2023 年 5 月 1 日", "2023年5月1号", "20230501", " 2023-05-01 ",
    "２０２３－０５－０１", "2023-05-01 00:00:00", "2023-05-01T08:30", "2023/5/1 9:05",
    MAY_1, dt.datetime(2023, 5, 1, 17, 45),
    45047, 45047.0, 45047.75, "45047", "45047.5", 20230501, 20230501.0,
])
def test_parse_date_formats(cell):
    assert parse_date(cell) == MAY_1


@pytest.mark.parametrize(("cell", "expected"), [
    ("1990-01-01", dt.date(1990, 1, 1)),
    ("2100-12-31", dt.date(2100, 12, 31)),
    ("2024-02-29", dt.date(2024, 2, 29)),
    (32874, dt.date(1990, 1, 1)),  # the first serial inside the year range
    (73415, dt.date(2100, 12, 31)),  # and the last
])
def test_parse_date_edges(cell, expected):
    assert parse_date(cell) == expected


@pytest.mark.parametrize(("cell", "phrase"), [
    ("2023-02-30", "日期不存在 / no such date"),
    ("2023-02-29", "no such date"),
    ("2023.13.1", "no such date"),
    ("2023年4月31日", "no such date"),
    ("20230230", "no such date"),
    ("1989-12-31", "年份须在1990–2100之间 / year must be between 1990 and 2100"),
    ("2101-01-01", "year must be between 1990 and 2100"),
    ("0000-01-01", "year must be between 1990 and 2100"),
    (dt.date(1980, 1, 1), "year must be between 1990 and 2100"),
    (20000, "year must be between 1990 and 2100"),  # a serial, but 1954
    ("80001", "not a date"),
    (123, "not a date"),
    ("2023-5/1", "not a date"),
    ("2023年5月", "not a date"),
    ("5/1/2023", "无法识别的日期"),
    ("abc", "write 2023-05-01"),
    (True, "not a date"),
])
def test_parse_date_refuses(cell, phrase):
    _raises(parse_date, cell, phrase=phrase)


# ---------------------------------------------------------------- money


@pytest.mark.parametrize(("header", "unit"), [
    ("保费（万元）", WAN), ("保费(万元)", WAN), ("保费/万元", WAN), ("保费 万元", WAN),
    ("premium_wan", WAN), ("Premium_WAN", WAN), ("wan", WAN),
    ("保费（元）", 1), ("保费", 1), ("premium", 1), ("wanted_premium", 1), ("", 1),
])
def test_money_unit(header, unit):
    assert money_unit(header) == unit


@pytest.mark.parametrize(("cell", "unit", "expected"), [
    ("1234.5", 1, "1234.50"),
    ("1,234.5", 1, "1234.50"),
    ("1，234.5", 1, "1234.50"),  # full-width comma
    ("１，２３４．５", 1, "1234.50"),  # full-width digits
    ("¥1,234.5", 1, "1234.50"),
    ("￥1,234.5", 1, "1234.50"),
    ("1,234.5元", 1, "1234.50"),
    ("¥ 1 234 元", 1, "1234.00"),
    ("1,234,567", 1, "1234567.00"),
    ("12.345", 1, "12.35"),  # rounded half up to the fen
    ("0", 1, "0.00"),
    (3000, 1, "3000.00"),
    (0.125, 1, "0.13"),
    (Decimal("99.999"), 1, "100.00"),
    ("12.5", WAN, "125000.00"),
    (12.5, WAN, "125000.00"),
    ("12.5万元", 1, "125000.00"),  # the cell's own unit beats the header's
    ("12.5万", 1, "125000.00"),
    ("12.5万元", WAN, "125000.00"),
    ("500元", WAN, "500.00"),
])
def test_parse_money(cell, unit, expected):
    assert parse_money(cell, unit) == Decimal(expected)


@pytest.mark.parametrize(("cell", "phrase"), [
    ("-100", "金额不能为负数 / amount must not be negative"),
    (-0.01, "amount must not be negative"),
    ("¥-5万元", "amount must not be negative"),
    ("1,23", "千位分隔符位置不对 / misplaced thousands separator"),
    ("12,34.5", "misplaced thousands separator"),
    ("abc", "不是数字 / not a number"),
    ("十万", "not a number"),
    ("元", "not a number"),
    ("1.2.3", "not a number"),
    (True, "not a number"),
    (float("inf"), "not a number"),
])
def test_parse_money_refuses(cell, phrase):
    _raises(parse_money, cell, phrase=phrase)


# ---------------------------------------------------------------- rates and shares


@pytest.mark.parametrize(("cell", "expected"), [
    ("1.5%", "0.015"), ("1.5％", "0.015"), ("1.5 %", "0.015"), ("１．５％", "0.015"),
    ("0.015", "0.015"), (0.015, "0.015"), ("1.5", "0.015"), (1.5, "0.015"),
    ("15‰", "0.015"), ("0.5", "0.005"),  # 0.5 cannot be 50 %: it is 0.5 %
    ("10", "0.1"), ("10%", "0.1"), ("0.1", "0.1"), ("100‰", "0.1"), ("0.0001", "0.0001"),
])
def test_parse_rate(cell, expected):
    assert parse_rate(cell) == Decimal(expected)


@pytest.mark.parametrize(("cell", "phrase"), [
    ("0", "费率须大于0且不超过10% / rate must be above 0 % and at most 10 %"),
    ("0%", "at most 10 %"),
    ("-1%", "at most 10 %"),
    ("12%", "at most 10 %"),
    ("10.01", "at most 10 %"),
    (12, "at most 10 %"),
    ("101‰", "at most 10 %"),
    ("abc%", "not a number"),
    ("一点五", "not a number"),
])
def test_parse_rate_refuses(cell, phrase):
    _raises(parse_rate, cell, phrase=phrase)


@pytest.mark.parametrize(("cell", "expected"), [
    ("40%", "0.4"), ("40％", "0.4"), ("0.4", "0.4"), (0.4, "0.4"), ("40", "0.4"), (40, "0.4"),
    ("400‰", "0.4"), ("100%", "1"), ("100", "1"), (1, "1"), ("0.01", "0.01"),
])
def test_parse_share(cell, expected):
    assert parse_share(cell) == Decimal(expected)


@pytest.mark.parametrize(("cell", "phrase"), [
    ("0", "份额须大于0且不超过100% / share must be above 0 % and at most 100 %"),
    ("120%", "at most 100 %"),
    ("150", "at most 100 %"),
    ("-0.4", "at most 100 %"),
    ("四成", "not a number"),
])
def test_parse_share_refuses(cell, phrase):
    _raises(parse_share, cell, phrase=phrase)


# ---------------------------------------------------------------- integers and decimals


@pytest.mark.parametrize(("cell", "expected"), [
    ("12", 12), (" 12 ", 12), ("１２", 12), ("1,200", 1200), ("12.0", 12), (12, 12),
    (12.0, 12), ("-2", -2), ("0", 0), ("1e3", 1000),
])
def test_parse_int(cell, expected):
    value = parse_int(cell)
    assert value == expected and type(value) is int


@pytest.mark.parametrize(("cell", "kwargs", "phrase"), [
    ("12.5", {}, "须为整数 / not a whole number"),
    (12.5, {}, "not a whole number"),
    ("0", {"positive": True}, "须大于0 / must be greater than 0"),
    ("-3", {"positive": True}, "must be greater than 0"),
    ("十二", {}, "not a number"),
    ("12层", {}, "not a number"),
    ("1,20", {}, "misplaced thousands separator"),
    (True, {}, "not a number"),
])
def test_parse_int_refuses(cell, kwargs, phrase):
    _raises(parse_int, cell, phrase=phrase, **kwargs)


@pytest.mark.parametrize(("cell", "expected"), [
    ("1,234.5", "1234.5"), ("1，234.5", "1234.5"), ("１２３４．５", "1234.5"), ("88.20", "88.20"),
    (88.2, "88.2"), (100, "100"), (".5", "0.5"), ("-3.5", "-3.5"), (Decimal("7.25"), "7.25"),
])
def test_parse_decimal(cell, expected):
    assert parse_decimal(cell) == Decimal(expected)
    if Decimal(expected) > 0:
        assert parse_decimal(cell, positive=True) == Decimal(expected)


@pytest.mark.parametrize(("cell", "kwargs", "phrase"), [
    ("0", {"positive": True}, "须大于0 / must be greater than 0"),
    (-12.5, {"positive": True}, "must be greater than 0"),
    ("12㎡", {}, "not a number"),
    ("1,2345", {}, "misplaced thousands separator"),
    (float("inf"), {}, "not a number"),
    (dt.date(2023, 5, 1), {}, "not a number"),
])
def test_parse_decimal_refuses(cell, kwargs, phrase):
    _raises(parse_decimal, cell, phrase=phrase, **kwargs)


# ---------------------------------------------------------------- yes / no


@pytest.mark.parametrize(("cell", "expected"), [
    ("是", True), ("否", False), ("Y", True), ("n", False), ("yes", True), ("NO", False),
    ("true", True), ("FALSE", False), ("1", True), ("0", False), (1, True), (0, False),
    (1.0, True), (0.0, False), ("√", True), ("×", False), ("✓", True), (" 是 ", True),
    ("ｙｅｓ", True), (True, True), (False, False),
])
def test_parse_bool(cell, expected):
    assert parse_bool(cell) is expected


@pytest.mark.parametrize("cell", ["可能", "2", 2, "x", "ok", "有"])
def test_parse_bool_refuses(cell):
    _raises(parse_bool, cell, phrase="请填“是”或“否” / write yes or no")


# ---------------------------------------------------------------- USCC


@pytest.mark.parametrize("cell", [
    VALID_USCC, " 91350100M000100Y43 ", "91350100m000100y43",
    "９１３５０１００Ｍ０００１００Ｙ４３",
])
def test_parse_uscc(cell):
    assert parse_uscc(cell) == VALID_USCC


@pytest.mark.parametrize(("cell", "phrase"), [
    ("91350100M000100Y4", "统一社会信用代码应为18位，实为17位 / a USCC has 18 characters, not 17"),
    ("91350100M000100Y433", "not 19"),
    ("9135 0100M000100Y43", "not 19"),
    ("91350100M000100YI3", "第17位字符不合法"),
    ("91350100M000100YO3", "character 17 is not allowed (no I, O, Z, S, V)"),
    ("9135A100M000100Y43", "第5位须为数字 / character 5 must be a digit"),
    ("91350100M000100Y44", "校验位不符，可能有字符录错 / check character does not match"),
    ("91350100M000100Y34", "check character does not match"),
    (9.13501e17, "stored as a number"),
    ("9.13501E+17", "请把该列设为文本"),
])
def test_parse_uscc_refuses(cell, phrase):
    _raises(parse_uscc, cell, phrase=phrase)


# ---------------------------------------------------------------- labels

VOCABULARIES = {
    "STAGES": (STAGES, programme.PROJECT_STAGES),
    "SEVERITIES": (SEVERITIES, programme.RISK_SEVERITIES),
    "EVENT_STATUSES": (EVENT_STATUSES, programme.RISK_EVENT_STATUSES),
    "CATEGORIES": (CATEGORIES, programme.RISK_CATEGORIES),
    "CLAIM_STATUSES": (CLAIM_STATUSES, programme.CLAIM_STATUSES),
    "ORGANISATION_KINDS": (ORGANISATION_KINDS, programme.ORGANISATION_KINDS),
    "EXCLUSIONS": (EXCLUSIONS, programme.EXCLUSIONS),
    "SECTIONS": (SECTIONS, {s.code: s.name_zh for s in programme.COVERAGE_SECTIONS}),
}


@pytest.mark.parametrize("name", VOCABULARIES)
def test_vocabularies_are_the_programmes(name):
    vocabulary, source = VOCABULARIES[name]
    assert dict(vocabulary) == source


@pytest.mark.parametrize("name", [*VOCABULARIES, "DECISIONS"])
def test_every_code_label_and_synonym_reads_as_its_code(name):
    vocabulary = DECISIONS if name == "DECISIONS" else VOCABULARIES[name][0]
    for code, label in vocabulary.items():
        assert parse_label(code, vocabulary, "x") == code
        assert parse_label(code.upper(), vocabulary, "x") == code
        assert parse_label(f" {label} ", vocabulary, "x") == code
    for word, code in vocabulary.synonyms.items():  # no synonym is shadowed by a label
        assert parse_label(word, vocabulary, "x") == code


@pytest.mark.parametrize(("cell", "labels", "expected"), [
    ("一般", SEVERITIES, "minor"), ("轻微", SEVERITIES, "minor"),
    ("较重", SEVERITIES, "major"), ("较大", SEVERITIES, "major"), ("重要", SEVERITIES, "major"),
    ("严重", SEVERITIES, "severe"), ("重大", SEVERITIES, "severe"),
    ("SEVERE", SEVERITIES, "severe"),
    ("未整改", EVENT_STATUSES, "open"), ("待整改", EVENT_STATUSES, "open"),
    ("整改中", EVENT_STATUSES, "rectifying"), ("已整改", EVENT_STATUSES, "closed"),
    ("已销项", EVENT_STATUSES, "closed"), ("已关闭", EVENT_STATUSES, "closed"),
    ("已竣工", STAGES, "completed"), ("竣工", STAGES, "completed"),
    ("竣工验收", STAGES, "completed"), ("已交付", STAGES, "delivered"),
    ("交房", STAGES, "delivered"), ("Main Structure", STAGES, "main_structure"),
    ("main-structure", STAGES, "main_structure"), ("主体结构 施工", STAGES, "main_structure"),
    ("赔付", DECISIONS, "accepted"), ("同意", DECISIONS, "accepted"),
    ("属于保险责任", DECISIONS, "accepted"), ("已核定赔付", DECISIONS, "accepted"),
    ("拒赔", DECISIONS, "rejected"), ("不予赔偿", DECISIONS, "rejected"),
    ("不属于保险责任", DECISIONS, "rejected"), ("Rejected", DECISIONS, "rejected"),
    ("地基基础和主体结构工程", SECTIONS, "structure"), ("电梯", SECTIONS, "lift"),
    ("保温防水", SECTIONS, "insulation_waterproofing"),
    ("建设单位", ORGANISATION_KINDS, "developer"), ("开发商", ORGANISATION_KINDS, "developer"),
    ("TIS", ORGANISATION_KINDS, "tis"), ("不可抗力", EXCLUSIONS, "force_majeure"),
    ("已维修/赔付", CLAIM_STATUSES, "settled"), ("防水", CATEGORIES, "waterproofing"),
    ("较重", programme.RISK_SEVERITIES, "major"),  # a plain dict works too, without synonyms
])
def test_parse_label(cell, labels, expected):
    assert parse_label(cell, labels, "字段") == expected


@pytest.mark.parametrize(("cell", "labels", "what"), [
    ("很重", SEVERITIES, "严重程度"),
    ("在建", STAGES, "项目阶段"),  # ambiguous: any of three construction stages
    ("施工中", STAGES, "项目阶段"),
    ("待定", DECISIONS, "核定结果"),
    ("重大", programme.RISK_SEVERITIES, "严重程度"),  # synonyms belong to the Vocabulary
    (3, EVENT_STATUSES, "整改状态"),
])
def test_parse_label_refuses_and_lists_the_labels(cell, labels, what):
    message = _raises(parse_label, cell, labels, what, phrase=f"无法识别的{what} / unknown {what}")
    assert "可填 accepted: " + "、".join(labels.values()) in message


def test_a_synonym_for_an_unknown_code_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown codes"):
        Vocabulary({"minor": "一般"}, {"轻微": "minr"})


# ---------------------------------------------------------------- districts


@pytest.mark.parametrize(("cell", "expected"), [
    ("530102", "530102"), (530102, "530102"), (530102.0, "530102"), (" 530102 ", "530102"),
    ("５３０１０２", "530102"), ("五华区", "530102"), ("五华", "530102"), (" 盘龙 区", "530103"),
    ("石林彝族自治县", "530126"), ("石林彝族", "530126"), ("安宁市", "530181"), ("安宁", "530181"),
])
def test_parse_district(cell, expected):
    assert parse_district(cell, KUNMING) == expected


@pytest.mark.parametrize(("cell", "phrase"), [
    ("990102", "不是有效的行政区划代码 / not a GB/T 2260 division code"),
    ("530199", "该区划代码不在本平台 / district code not in the store"),
    ("呈贡区", "不是本平台的区县 / unknown district"),
    ("五华县", "unknown district"),
    ("5301", "unknown district"),
])
def test_parse_district_refuses_and_names_the_known(cell, phrase):
    message = _raises(parse_district, cell, KUNMING, phrase=phrase)
    if "GB/T 2260" not in message:
        assert "可填 accepted: 五华区、盘龙区、官渡区" in message


def test_parse_district_names_only_the_first_ten():
    many = {f"5301{i:02d}": f"第{i}区" for i in range(1, 15)}
    message = _raises(parse_district, "呈贡区", many, phrase="unknown district")
    assert "第10区" in message and "第11区" not in message and "共14个" in message


def test_parse_district_refuses_an_ambiguous_name():
    twins = {"620102": "城关区", "540102": "城关区", "530102": "五华区"}
    for cell in ("城关区", "城关"):
        message = _raises(parse_district, cell, twins, phrase="ambiguous district")
        assert "620102" in message and "540102" in message
    assert parse_district("620102", twins) == "620102"


# ---------------------------------------------------------------- text


@pytest.mark.parametrize(("cell", "expected"), [
    ("  五华区 小区 ", "五华区 小区"),
    ("A\t\tB\nC", "A B C"),
    ("五华区　　　ＡＢＣ１２３", "五华区 ABC123"),  # ideographic spaces, full-width ASCII
    ("（一期）", "(一期)"),
    (12, "12"),
    (12.0, "12"),
    ("x" * 200, "x" * 200),
])
def test_parse_text(cell, expected):
    assert parse_text(cell) == expected


def test_parse_text_refuses_long_text():
    _raises(parse_text, "x" * 201, phrase="文字过长，共201字，最多200字 / text too long")
    _raises(parse_text, "一二三四五六", max_len=5, phrase="at most 5")
    assert parse_text("一二三四五", max_len=5) == "一二三四五"


# ---------------------------------------------------------------- coordinates


@pytest.mark.parametrize(("lon", "lat"), [
    ("102.71", "25.04"),
    (102.71, 25.04),
    ("１０２．７１", "２５．０４"),
    ("102.71E", "25.04N"),
    ("E102.71", "N25.04"),
    ("102°42'36\"E", "25°2'24\"N"),
    ("102°42'36\"", "25°02'24\""),
    ("102°42′36″E", "25°2′24″N"),
    ("102°42’36”", "25°2’24”"),  # what Chinese input methods type
    ("102°42'36''", "25°2'24''"),
    ("102° 42' 36\" E", "25° 2' 24\" N"),
    ("东经102度42分36秒", "北纬25度2分24秒"),
    ("102°42.6'", "25°2.4'"),
    ("102.71°", "25.04°"),
])
def test_parse_coordinate_pair(lon, lat):
    assert parse_coordinate_pair(lon, lat) == pytest.approx((102.71, 25.04), abs=1e-9)


@pytest.mark.parametrize(("lon", "lat"), [
    ("73", "3"), ("136", "54"), ("87.6", "43.8"), ("126.6", "45.8"), ("109.5", "18.2"),
])
def test_parse_coordinate_pair_accepts_china_to_its_edges(lon, lat):
    assert parse_coordinate_pair(lon, lat) == (float(lon), float(lat))


@pytest.mark.parametrize(("lon", "lat", "phrase"), [
    ("25.04", "102.71", "经纬度可能填反 / longitude and latitude look SWAPPED"),
    (25.04, 102.71, "SWAPPED"),
    ("25°2'24\"N", "102°42'36\"E", "SWAPPED"),
    ("102.71N", "25.04E", "SWAPPED"),  # the letters say so even though the numbers fit
    ("0", "0", "坐标不在中国境内 / outside China"),
    ("-102.71", "25.04", "outside China"),
    ("102.71W", "25.04N", "outside China"),
    ("2.71", "25.04", "outside China"),
    (571652.53, 2770673.01, "outside China"),  # projected metres, not degrees
    ("102.71", "", "经度和纬度须同时填写，缺纬度 / give both longitude and latitude"),
    (None, "25.04", "longitude is blank"),
    ("102.71", "-", "latitude is blank"),
    ("102°61'", "25.04", "分和秒须小于60 / minutes and seconds must be below 60"),
    ("102°42'60\"", "25.04", "must be below 60"),
    ("102 42'", "25.04", "无法识别的经度 / not a longitude"),
    ("102.71", "北京", "not a latitude"),
    ("102.71,25.04", "25.04", "not a longitude"),
    (True, "25.04", "not a longitude"),
])
def test_parse_coordinate_pair_refuses(lon, lat, phrase):
    _raises(parse_coordinate_pair, lon, lat, phrase=phrase)


def test_the_module_exports_what_the_pipeline_uses():
    for name in ("STAGES", "SEVERITIES", "EVENT_STATUSES", "CATEGORIES", "CLAIM_STATUSES",
                 "ORGANISATION_KINDS", "EXCLUSIONS", "SECTIONS", "DECISIONS"):
        assert isinstance(getattr(v, name), dict)
