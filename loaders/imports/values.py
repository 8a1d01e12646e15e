"""One spreadsheet cell from a Chinese office → one Python value, or a reason a clerk can act on.

Every parser takes a cell as it arrives: a ``str`` from a CSV file, or an ``int``,
``float``, ``datetime``, ``date``, ``bool`` or ``None`` from openpyxl. Blank cells
(see :func:`is_blank`) become ``None``; whether a column may be blank is the
caller's rule, not the parser's. A bad cell raises ``ValueError`` whose message is
"中文 / English: value"; the caller adds the file, row and column.

Text is NFKC-normalised first because offices type with Chinese input methods:
full-width digits and signs (１２３，４％￥) then read like their ASCII forms.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from geo import programme
from geo.codes import USCC_ALPHABET, is_gb2260, is_uscc

# What offices write for "nothing here" (compared after NFKC, so － and ／ are included).
_BLANKS = frozenset({"", "-", "--", "—", "——", "–", "―", "――", "/", "无"})


def _text(cell: object) -> str:
    """The cell as NFKC-normalised, stripped text; 530102.0 from Excel reads as 530102."""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return unicodedata.normalize("NFKC", str(cell)).strip()


def _compact(cell: object) -> str:
    """Like :func:`_text` with every whitespace character removed (1 234,5 % → 1234,5%)."""
    return re.sub(r"\s+", "", _text(cell))


def _error(zh: str, en: str, cell: object, choices: str = "") -> ValueError:
    """The message "中文 / English: value", then the values the clerk may choose from."""
    shown = cell.strip() if isinstance(cell, str) else cell
    tail = f"; 可填 accepted: {choices}" if choices else ""
    return ValueError(f"{zh} / {en}: {shown!r}{tail}")


def _is_number(cell: object) -> bool:
    # bool is an int in Python, but a TRUE/FALSE cell in a number column is a mistake.
    return isinstance(cell, numbers.Real) and not isinstance(cell, bool)


def is_blank(cell: object) -> bool:
    """True for an empty cell: None, NaN, whitespace, or a placeholder such as - — / 无.

    >>> [is_blank(c) for c in (None, "", "  ", "-", "—", "／", "无", float("nan"))]
    [True, True, True, True, True, True, True, True]
    >>> [is_blank(c) for c in ("0", 0, False, "无锡")]
    [False, False, False, False]
    """
    if cell is None:
        return True
    if isinstance(cell, float) and math.isnan(cell):  # pandas' empty cell
        return True
    return isinstance(cell, str) and _text(cell) in _BLANKS


# ---------------------------------------------------------------- dates

_ISO_DATE = re.compile(  # 2023-05-01, 2023/5/1, 2023.5.1; a time part from a CSV export is dropped
    r"^(?P<y>\d{4})\s*(?P<sep>[-/.])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<d>\d{1,2})"
    r"(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_ZH_DATE = re.compile(r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?$")
_COMPACT_DATE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
# Excel's 1900 date system counts 1900-02-29, a day that never was, so from serial 61 on
# the epoch is effectively 1899-12-30.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000
YEAR_MIN, YEAR_MAX = 1990, 2100


def _year_error(cell: object) -> ValueError:
    return _error(f"年份须在{YEAR_MIN}–{YEAR_MAX}之间",
                  f"year must be between {YEAR_MIN} and {YEAR_MAX}", cell)


def _checked_year(day: dt.date, cell: object) -> dt.date:
    if not YEAR_MIN <= day.year <= YEAR_MAX:
        raise _year_error(cell)
    return day


def _ymd(year: int, month: int, day: int, cell: object) -> dt.date:
    if not YEAR_MIN <= year <= YEAR_MAX:  # before the calendar check: year 0 is no date at all
        raise _year_error(cell)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _error("日期不存在", "no such date", cell) from None


def parse_date(cell: object) -> dt.date | None:
    """A date from ISO, slashed, dotted, Chinese or compact text, a date cell or an Excel serial.

    >>> {parse_date(c) for c in ("2023-05-01", "2023/5/1", "2023.5.1", "2023年5月1日")}
    {datetime.date(2023, 5, 1)}
    >>> parse_date("20230501"), parse_date(45047), parse_date(dt.datetime(2023, 5, 1, 9, 30))
    (datetime.date(2023, 5, 1), datetime.date(2023, 5, 1), datetime.date(2023, 5, 1))
    >>> parse_date("2023-02-30")
    Traceback (most recent call last):
    ValueError: 日期不存在 / no such date: '2023-02-30'
    >>> parse_date("1989-12-31")
    Traceback (most recent call last):
    ValueError: 年份须在1990–2100之间 / year must be between 1990 and 2100: '1989-12-31'
    """
    if is_blank(cell):
        return None
    if isinstance(cell, dt.datetime):  # before date: a datetime is also a date
        return _checked_year(cell.date(), cell)
    if isinstance(cell, dt.date):
        return _checked_year(cell, cell)
    if isinstance(cell, bool) or not isinstance(cell, (str, numbers.Real)):
        raise _error("无法识别的日期", "not a date", cell)
    text = _text(cell)
    for pattern in (_ISO_DATE, _ZH_DATE, _COMPACT_DATE):
        found = pattern.match(text)
        if found:
            return _ymd(int(found["y"]), int(found["m"]), int(found["d"]), cell)
    if _SERIAL.match(text) and _SERIAL_MIN <= float(text) <= _SERIAL_MAX:
        # the fraction of a serial is the time of day
        return _checked_year(_EXCEL_EPOCH + dt.timedelta(days=int(float(text))), cell)
    raise _error("无法识别的日期，请写成2023-05-01", "not a date, write 2023-05-01", cell)


# ---------------------------------------------------------------- numbers

# Thousands separators only where they belong: 1,234.5 yes, 1,23 (a decimal comma?) no.
_NUMBER = re.compile(
    r"^[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$"
)


def _decimal(cell: object, shown: object = None) -> Decimal:
    """A non-blank cell as a finite Decimal; ``shown`` is what the error quotes."""
    shown = cell if shown is None else shown
    if isinstance(cell, Decimal):
        value = cell
    elif _is_number(cell):
        value = Decimal(str(cell))  # str(): 0.1 stays 0.1, not 0.1000000000000000055…
    elif isinstance(cell, str):
        text = _compact(cell)
        if not _NUMBER.match(text):
            if re.fullmatch(r"[-+]?[\d,.]+", text) and "," in text:
                raise _error("千位分隔符位置不对", "misplaced thousands separator", shown)
            raise _error("不是数字", "not a number", shown)
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise _error("不是数字", "not a number", shown) from None
    else:
        raise _error("不是数字", "not a number", shown)
    if not value.is_finite():
        raise _error("不是数字", "not a number", shown)
    if value.as_tuple().exponent > 0:  # 1e3 is shown as 1000, not Decimal('1E+3')
        value = Decimal(int(value))
    return value


def parse_decimal(cell: object, *, positive: bool = False) -> Decimal | None:
    """A decimal number such as an area; thousands separators and full-width digits are fine.

    >>> parse_decimal("1,234.5"), parse_decimal("１２３４．５"), parse_decimal(88.2)
    (Decimal('1234.5'), Decimal('1234.5'), Decimal('88.2'))
    >>> parse_decimal("0", positive=True)
    Traceback (most recent call last):
    ValueError: 须大于0 / must be greater than 0: '0'
    """
    if is_blank(cell):
        return None
    value = _decimal(cell)
    if positive and value <= 0:
        raise _error("须大于0", "must be greater than 0", cell)
    return value


def parse_int(cell: object, *, positive: bool = False) -> int | None:
    """A whole number; 12.0 from Excel is 12, 12.5 is an error.

    >>> parse_int("1,200"), parse_int(12.0), parse_int("３")
    (1200, 12, 3)
    >>> parse_int("12.5")
    Traceback (most recent call last):
    ValueError: 须为整数 / not a whole number: '12.5'
    """
    if is_blank(cell):
        return None
    value = _decimal(cell)
    if value != value.to_integral_value():
        raise _error("须为整数", "not a whole number", cell)
    if positive and value <= 0:
        raise _error("须大于0", "must be greater than 0", cell)
    return int(value)


# ---------------------------------------------------------------- money

WAN = 10000
_WAN_HEADER = re.compile(r"万元|(?<![a-z])wan(?![a-z])")
_MONEY_UNIT = re.compile(r"(万元|万|元)$")
_CENT = Decimal("0.01")


def money_unit(header: str) -> int:
    """Yuan per unit of a money column: 10000 when the header names 万元, else 1 (元).

    >>> [money_unit(h) for h in ("保费（万元）", "保费(万元)", "保费/万元", "premium_wan")]
    [10000, 10000, 10000, 10000]
    >>> money_unit("保费（元）"), money_unit("保费"), money_unit("wanted_premium")
    (1, 1, 1)
    """
    return WAN if _WAN_HEADER.search(_text(header or "").lower()) else 1


def parse_money(cell: object, unit: int = 1) -> Decimal | None:
    """An amount in 元, rounded to the fen; ``unit`` is the column's (see :func:`money_unit`).

    A unit written in the cell wins over the header's: "12.5万元" is 125000 元 and
    "500元" is 500 元 even in a 万元 column, because the clerk said so explicitly.

    >>> parse_money("¥1,234.5"), parse_money("１，２３４．５元"), parse_money("12.5", WAN)
    (Decimal('1234.50'), Decimal('1234.50'), Decimal('125000.00'))
    >>> parse_money("12.5万元"), parse_money(3000)
    (Decimal('125000.00'), Decimal('3000.00'))
    >>> parse_money("-100")
    Traceback (most recent call last):
    ValueError: 金额不能为负数 / amount must not be negative: '-100'
    """
    if is_blank(cell):
        return None
    value = cell
    if isinstance(cell, str):
        text = _compact(cell).lstrip("¥")  # NFKC has turned ￥ into ¥
        written = _MONEY_UNIT.search(text)
        if written:
            unit = WAN if written[1].startswith("万") else 1
            text = text[: written.start()].lstrip("¥")
        value = text
    amount = _decimal(value, shown=cell)
    if amount < 0:
        raise _error("金额不能为负数", "amount must not be negative", cell)
    return (amount * unit).quantize(_CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- rates and shares

RATE_MAX = Decimal("0.10")
SHARE_MAX = Decimal("1")


def _fraction(cell: object, limit: Decimal) -> Decimal:
    """The cell as a fraction: n% and n‰ say so; a bare number in (limit, 100 × limit] is a %.

    A bare number above ``limit`` cannot be a fraction the rule allows, and offices do
    write 1.5 for 1.5 % or 40 for 40 %, so only the percentage reading makes sense.
    """
    if isinstance(cell, str):
        text = _compact(cell)
        for sign, per in (("%", 100), ("‰", 1000)):
            if text.endswith(sign):
                return _decimal(text[:-1], shown=cell) / per
    value = _decimal(cell)
    return value / 100 if limit < value <= limit * 100 else value


def parse_rate(cell: object) -> Decimal | None:
    """A premium rate as a fraction: 1.5%, 1.5％, 0.015, 1.5 and 15‰ are all 0.015.

    A bare number above 0.1 and up to 10 is read as a percentage: a rate above 10 %
    is impossible here and offices write 1.5 meaning 1.5 %.

    >>> {parse_rate(c) for c in ("1.5%", "1.5％", "0.015", "1.5", "15‰", 0.015)}
    {Decimal('0.015')}
    >>> parse_rate("12%")
    Traceback (most recent call last):
    ValueError: 费率须大于0且不超过10% / rate must be above 0 % and at most 10 %: '12%'
    """
    if is_blank(cell):
        return None
    rate = _fraction(cell, RATE_MAX)
    if not 0 < rate <= RATE_MAX:
        raise _error("费率须大于0且不超过10%", "rate must be above 0 % and at most 10 %", cell)
    return rate


def parse_share(cell: object) -> Decimal | None:
    """A share (of a co-insurance, say) as a fraction: 40%, 0.4 and 40 are all 0.4.

    A bare number above 1 and up to 100 is read as a percentage, as for rates.

    >>> [parse_share(c) for c in ("40%", "0.4", "40", 1)]
    [Decimal('0.4'), Decimal('0.4'), Decimal('0.4'), Decimal('1')]
    >>> parse_share("120%")
    Traceback (most recent call last):
    ValueError: 份额须大于0且不超过100% / share must be above 0 % and at most 100 %: '120%'
    """
    if is_blank(cell):
        return None
    share = _fraction(cell, SHARE_MAX)
    if not 0 < share <= SHARE_MAX:
        raise _error("份额须大于0且不超过100%", "share must be above 0 % and at most 100 %", cell)
    return share


# ---------------------------------------------------------------- yes/no, text, USCC

_TRUE = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "✔"})
_FALSE = frozenset({"否", "n", "no", "false", "0", "×", "✗", "✘"})


def parse_bool(cell: object) -> bool | None:
    """Yes or no: 是/否, Y/N, yes/no, true/false, 1/0, √/×.

    >>> [parse_bool(c) for c in ("是", "否", "Y", "no", "TRUE", 0, "√", "×", True)]
    [True, False, True, False, True, False, True, False, True]
    >>> parse_bool("可能")
    Traceback (most recent call last):
    ValueError: 请填“是”或“否” / write yes or no: '可能'
    """
    if is_blank(cell):
        return None
    if isinstance(cell, bool):
        return cell
    word = _compact(cell).casefold()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _error("请填“是”或“否”", "write yes or no", cell)


def parse_text(cell: object, max_len: int = 200) -> str | None:
    """Free text: stripped, inner whitespace collapsed, full-width ASCII made half-width.

    >>> parse_text("  五华区　 ＡＢＣ  小区\\n3栋 ")
    '五华区 ABC 小区 3栋'
    >>> parse_text("一二三四五六", max_len=5)
    Traceback (most recent call last):
    ValueError: 文字过长，共6字，最多5字 / text too long, 6 characters, at most 5: '一二三四五六'
    """
    if is_blank(cell):
        return None
    text = " ".join(_text(cell).split())
    if len(text) > max_len:
        raise _error(f"文字过长，共{len(text)}字，最多{max_len}字",
                     f"text too long, {len(text)} characters, at most {max_len}", cell)
    return text


def _uscc_bad_character(code: str) -> str | None:
    """Why a character of an 18-character code is not allowed, or None if all are."""
    for i, ch in enumerate(code, start=1):
        if 3 <= i <= 8 and ch not in "0123456789":  # the registering authority's division code
            return f"第{i}位须为数字 / character {i} must be a digit: {ch!r}"
        if ch not in USCC_ALPHABET:
            return (f"第{i}位字符不合法（不用I、O、Z、S、V）"
                    f" / character {i} is not allowed (no I, O, Z, S, V): {ch!r}")
    return None


def parse_uscc(cell: object) -> str | None:
    """A unified social credit code (统一社会信用代码), stripped and upper-cased.

    >>> parse_uscc(" 91350100m000100y43 ")
    '91350100M000100Y43'
    >>> parse_uscc("91350100M000100Y44")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ValueError: 校验位不符，可能有字符录错 / check character does not match,
    a character is probably mistyped: '91350100M000100Y44'
    """
    if is_blank(cell):
        return None
    # Excel keeps 15 digits of a number, and a CSV export may write it as 9.13501E+17:
    # either way the code is already lost.
    if isinstance(cell, float) or re.fullmatch(r"\d+(\.\d+)?E\+\d+", _text(cell).upper()):
        raise _error("代码被存成了数字，请把该列设为文本后重填",
                     "stored as a number, set the column to text and re-enter", cell)
    code = _text(cell).upper()
    if len(code) != 18:
        raise _error(f"统一社会信用代码应为18位，实为{len(code)}位",
                     f"a USCC has 18 characters, not {len(code)}", cell)
    bad = _uscc_bad_character(code)
    if bad:
        raise ValueError(bad)
    if not is_uscc(code):
        raise _error("校验位不符，可能有字符录错",
                     "check character does not match, a character is probably mistyped", cell)
    return code


# ---------------------------------------------------------------- labels


class Vocabulary(dict[str, str]):
    """Code → Chinese label, plus ``synonyms``: other words offices write → code."""

    def __init__(self, labels: dict[str, str], synonyms: dict[str, str] | None = None):
        super().__init__(labels)
        self.synonyms = dict(synonyms or {})
        stray = sorted(set(self.synonyms.values()) - set(self))
        if stray:  # a typo in a synonym table must not pass silently
            raise ValueError(f"synonyms name unknown codes: {stray}")


def _label_key(word: str) -> str:
    # Case, spaces, '_' and '-' vary between offices: "Main Structure" is main_structure.
    return re.sub(r"[\s_\-]+", "", _text(word)).casefold()


def parse_label(cell: object, labels: dict[str, str], what: str) -> str | None:
    """The code for a code, its Chinese label or (for a :class:`Vocabulary`) a synonym.

    ``what`` names the column in the error, e.g. "严重程度".

    >>> parse_label("较重", SEVERITIES, "严重程度"), parse_label(" Major ", SEVERITIES, "严重程度")
    ('major', 'major')
    >>> parse_label("重大", SEVERITIES, "严重程度"), parse_label("已整改", EVENT_STATUSES, "状态")
    ('severe', 'closed')
    >>> parse_label("很重", SEVERITIES, "严重程度")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ValueError: 无法识别的严重程度 / unknown 严重程度: '很重'; 可填 accepted: 一般、较重、严重
    """
    if is_blank(cell):
        return None
    lookup = {_label_key(word): code for word, code in getattr(labels, "synonyms", {}).items()}
    for code, label in labels.items():
        lookup[_label_key(code)] = code
        lookup[_label_key(label)] = code
    found = lookup.get(_label_key(str(cell)))
    if found is None:
        raise _error(f"无法识别的{what}", f"unknown {what}", cell, "、".join(labels.values()))
    return found


# One synonym table per vocabulary. Ambiguous words are left out on purpose (在建 and
# 施工中 could be any construction stage): the clerk is asked rather than guessed for.
STAGES = Vocabulary(programme.PROJECT_STAGES, {
    "竣工": "completed", "已竣工": "completed", "竣工验收合格": "completed",
    "已交付": "delivered", "交付": "delivered", "交房": "delivered", "已交房": "delivered",
})
SEVERITIES = Vocabulary(programme.RISK_SEVERITIES, {
    "一般": "minor", "轻微": "minor",
    "较重": "major", "较大": "major", "重要": "major",
    "严重": "severe", "重大": "severe",
})
EVENT_STATUSES = Vocabulary(programme.RISK_EVENT_STATUSES, {
    "未整改": "open", "待整改": "open",
    "整改中": "rectifying",
    "已整改": "closed", "已销项": "closed", "已关闭": "closed",
})
CATEGORIES = Vocabulary(programme.RISK_CATEGORIES, {
    "地基": "foundation", "主体": "structure",
})
CLAIM_STATUSES = Vocabulary(programme.CLAIM_STATUSES, {
    "报案": "reported", "已赔付": "settled", "已维修": "settled", "结案": "closed",
})
ORGANISATION_KINDS = Vocabulary(programme.ORGANISATION_KINDS, {
    "保险人": "insurer", "再保险人": "reinsurer",
    "开发商": "developer", "开发单位": "developer",
    "总包单位": "contractor", "施工总承包单位": "contractor",
})
EXCLUSIONS = Vocabulary(programme.EXCLUSIONS)
# The official section names are long; offices write the short ones.
SECTIONS = Vocabulary({s.code: s.name_zh for s in programme.COVERAGE_SECTIONS}, {
    "主体结构": "structure", "地基基础": "structure",
    "保温防水": "insulation_waterproofing", "装饰装修": "decoration",
    "给排水": "plumbing_heating", "暖通": "hvac", "电气": "electrical",
    "智能化": "intelligent", "节能": "energy_saving", "电梯": "lift",
})
# A claim decision (核定结果): covered and paid, or refused.
DECISIONS = Vocabulary({
    "accepted": programme.CLAIM_STATUSES["accepted"],
    "rejected": programme.CLAIM_STATUSES["rejected"],
}, {
    "赔付": "accepted", "同意": "accepted", "同意赔付": "accepted", "属于保险责任": "accepted",
    "拒赔": "rejected", "拒绝赔付": "rejected", "不予赔偿": "rejected",
    "不属于保险责任": "rejected",
})


# ---------------------------------------------------------------- districts

# Longest first, so 石林彝族自治县 loses 自治县 and not just 县.
_DIVISION_SUFFIXES = ("自治县", "自治旗", "林区", "特区", "区", "县", "市", "旗")


def _short_name(name: str) -> str:
    for suffix in _DIVISION_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _known(districts: dict[str, str], shown: int = 10) -> str:
    known = "、".join(list(districts.values())[:shown])
    return known + f"…（共{len(districts)}个）" if len(districts) > shown else known


def parse_district(cell: object, districts: dict[str, str]) -> str | None:
    """The code of a district in the store, from its code, its name or its name without suffix.

    ``districts`` maps code → Chinese name.

    >>> kunming = {"530102": "五华区", "530103": "盘龙区", "530126": "石林彝族自治县"}
    >>> parse_district("530102", kunming), parse_district("盘龙区", kunming)
    ('530102', '530103')
    >>> parse_district("五华", kunming), parse_district(530126, kunming)
    ('530102', '530126')
    >>> parse_district("云南省昆明市五华区", kunming), parse_district("石林县", kunming)
    ('530102', '530126')
    >>> parse_district("西山区", kunming)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ValueError: 不是本平台的区县 / unknown district: '西山区';
    可填 accepted: 五华区、盘龙区、石林彝族自治县
    """
    if is_blank(cell):
        return None
    text = _compact(cell)
    if re.fullmatch(r"\d{6}", text):
        if not is_gb2260(text):
            raise _error("不是有效的行政区划代码", "not a GB/T 2260 division code", cell)
        if text not in districts:
            raise _error("该区划代码不在本平台", "district code not in the store", cell,
                         _known(districts))
        return text
    names = {code: _compact(name) for code, name in districts.items()}
    # offices write "昆明市五华区" or "云南省昆明市五华区", and "石林县" for 石林彝族自治县
    text = re.sub(r"^.+?省", "", text) if not text.endswith("省") else text
    text = re.sub(r"^.+?市(?=.+[区县市旗]$)", "", text)
    matches = [code for code, name in names.items() if name == text]
    matches = matches or [code for code, name in names.items() if _short_name(name) == text]
    # only autonomous counties go by a short form: 五华县 is another county, not 五华区
    matches = matches or [code for code, name in names.items()
                          if text.endswith("县") and name.endswith("自治县")
                          and name.startswith(text[:-1])]
    if len(matches) > 1:
        which = "、".join(f"{c} {districts[c]}" for c in matches)
        raise _error("有多个同名区县，请填代码", "ambiguous district, write its code", cell, which)
    if matches:
        return matches[0]
    raise _error("不是本平台的区县", "unknown district", cell, _known(districts))


# ---------------------------------------------------------------- coordinates

CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)
_HEMISPHERES = {"E": "E", "东经": "E", "W": "W", "西经": "W",
                "N": "N", "北纬": "N", "S": "S", "南纬": "S"}
_HEMI = "[NSEW]|东经|西经|北纬|南纬"
# 102.71, 102°42'36"E, 东经102度42分36秒. NFKC has already turned ″ into ′′; Chinese input
# methods type ’ and ” for minutes and seconds. Minutes need the degree sign before them,
# otherwise "10242'" would read as 1024° 2'.
_DEGREES = re.compile(
    rf"^(?P<pre>{_HEMI})?(?P<deg>[-+]?\d+(?:\.\d+)?)"
    r"(?:(?:°|度)(?:(?P<min>\d+(?:\.\d+)?)(?:'|′|’|分)"
    r"(?:(?P<sec>\d+(?:\.\d+)?)(?:\"|″|”|''|′′|’’|秒))?)?)?"
    rf"(?P<post>{_HEMI})?$"
)


def _degrees(cell: object, zh: str, en: str) -> tuple[float, str | None]:
    """Decimal degrees of one coordinate cell, and the hemisphere letter written, if any."""
    if _is_number(cell):
        return float(cell), None
    text = _compact(cell).upper()
    found = _DEGREES.match(text)
    if not found:
        raise _error(f"无法识别的{zh}", f"not a {en}, write 102.71 or 102°42′36″", cell)
    minutes, seconds = float(found["min"] or 0), float(found["sec"] or 0)
    if minutes >= 60 or seconds >= 60:
        raise _error("分和秒须小于60", "minutes and seconds must be below 60", cell)
    hemisphere = _HEMISPHERES.get(found["pre"] or found["post"] or "")
    value = abs(float(found["deg"])) + minutes / 60 + seconds / 3600
    negative = found["deg"].startswith("-") or hemisphere in ("W", "S")
    # DMS arithmetic leaves float noise; 7 decimals are about 1 cm.
    return round(-value if negative else value, 7), hemisphere


def _in_china(lon: float, lat: float) -> bool:
    return CHINA_LON[0] <= lon <= CHINA_LON[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]


def parse_coordinate_pair(lon_cell: object, lat_cell: object) -> tuple[float, float] | None:
    """(longitude, latitude) in decimal degrees, inside China's box (lon 73–136, lat 3–54).

    >>> parse_coordinate_pair("102.71", 25.04)
    (102.71, 25.04)
    >>> parse_coordinate_pair("102°42′36″E", "25°2'24\\"N"), parse_coordinate_pair(None, "")
    ((102.71, 25.04), None)
    >>> parse_coordinate_pair("25.04", "102.71")
    Traceback (most recent call last):
    ValueError: 经纬度可能填反 / longitude and latitude look SWAPPED: (25.04, 102.71)
    """
    lon_blank, lat_blank = is_blank(lon_cell), is_blank(lat_cell)
    if lon_blank and lat_blank:
        return None
    if lon_blank or lat_blank:
        zh, en = ("经度", "longitude") if lon_blank else ("纬度", "latitude")
        raise _error(f"经度和纬度须同时填写，缺{zh}",
                     f"give both longitude and latitude, {en} is blank",
                     lat_cell if lon_blank else lon_cell)
    lon, lon_hemisphere = _degrees(lon_cell, "经度", "longitude")
    lat, lat_hemisphere = _degrees(lat_cell, "纬度", "latitude")
    marked_swapped = lon_hemisphere in ("N", "S") or lat_hemisphere in ("E", "W")
    if _in_china(lon, lat) and not marked_swapped:
        return lon, lat
    if marked_swapped or _in_china(lat, lon):
        raise _error("经纬度可能填反", "longitude and latitude look SWAPPED", (lon, lat))
    raise _error("坐标不在中国境内", "outside China (longitude 73–136, latitude 3–54)",
                 (lon, lat))
