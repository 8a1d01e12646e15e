"""Search: find projects by the name of the project, its residential community (小区), its
developer (建设单位), contractor (施工单位), insurers (保险公司, lead or co-insurer) or TIS
(风险管理机构).

A project is found when a field holds the search text (Chinese substring matching, ILIKE
with the user's ``%`` and ``_`` taken literally) or nearly holds it: the text's characters in
order with at most one missing or mistyped, or (for a project's name or community) a pg_trgm
word similarity of at least `TRIGRAM_THRESHOLD`. The character patterns carry most of the
near matching because trigrams miss most Chinese typos: Chinese has no spaces, so a whole
name is one "word" and a short query's padded trigrams rarely meet it
(``word_similarity('东胜置业', '东盛置业有限公司')`` is 0.2), and in a cluster whose locale does
not class CJK characters as letters there are no CJK trigrams at all. Trigram similarity also
ranks the near matches. Best matches come first (see search.sql for the scores).

Everything runs through the caller's connection, whose row security scopes the search to what
its user may see; the layers' filters narrow it further (district, stage, insurer, TIS; the
period does not: a project is found whenever it was insured).
"""

from __future__ import annotations

import re

from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection

from layers.districts import plain_row
from layers.filters import FilterError, Filters, shown
from layers.sql import read_sql

MAX_QUERY = 100
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
TRIGRAM_THRESHOLD = 0.6
FIELDS = {1: "项目名称", 2: "小区", 3: "建设单位", 4: "施工单位", 5: "保险公司", 6: "风险管理机构"}
HOW_ZH = {"exact": "完全一致", "short_name": "简称一致", "contains": "包含", "fuzzy": "近似"}
_SPACES = re.compile(r"\s+")


def search_text(raw: str | None) -> str:
    """The search text as the user meant it: trimmed, runs of spaces as one; refused when
    empty or longer than `MAX_QUERY` characters.

    >>> search_text("  滇池　 花园 ")
    '滇池 花园'
    >>> search_text(" ")
    Traceback (most recent call last):
    ...
    layers.filters.FilterError: 请输入搜索内容。q: enter a name to search for
    >>> search_text("花" * 101)
    Traceback (most recent call last):
    ...
    layers.filters.FilterError: 搜索内容过长（101 字，最多 100 字）。q: at most 100 characters
    """
    query = _SPACES.sub(" ", raw or "").strip()
    if not query:
        raise FilterError("请输入搜索内容。q: enter a name to search for")
    if len(query) > MAX_QUERY:
        raise FilterError(f"搜索内容过长（{len(query)} 字，最多 {MAX_QUERY} 字）。"
                          f"q: at most {MAX_QUERY} characters")
    return query


def search_limit(raw: str | None, default: int = DEFAULT_LIMIT) -> int:
    """How many results to give, from the URL: 1 to `MAX_LIMIT`.

    >>> search_limit(None), search_limit("200")
    (50, 200)
    >>> search_limit("0")
    Traceback (most recent call last):
    ...
    layers.filters.FilterError: limit='0': 结果条数应为 1–200。expected a number from 1 to 200
    """
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_LIMIT):
        raise FilterError(f"limit={shown(raw)}: 结果条数应为 1–{MAX_LIMIT}。"
                          f"expected a number from 1 to {MAX_LIMIT}")
    return int(raw)


def _literal(text: str) -> str:
    """``text`` for a LIKE pattern, its wildcards and the escape character taken literally.

    >>> _literal("100%_a\\\\b")
    '100\\\\%\\\\_a\\\\\\\\b'
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(query: str) -> str:
    """The ILIKE pattern of a value holding ``query``.

    >>> contains_pattern("50%_花园")
    '%50\\\\%\\\\_花园%'
    """
    return f"%{_literal(query)}%"


def in_order_patterns(query: str) -> list[str]:
    """ILIKE patterns for a near match: from three characters on, the query's characters in
    order with others between (a character missing from the query), and from four on, every
    way of leaving one out (a character mistyped). Spaces are left out. Shorter queries get
    none: any two characters in order are found in too many long names.

    >>> in_order_patterns("滇花园")
    ['%滇%花%园%']
    >>> in_order_patterns("香樟公官")
    ['%香%樟%公%官%', '%樟%公%官%', '%香%公%官%', '%香%樟%官%', '%香%樟%公%']
    >>> in_order_patterns("花 园")
    []
    """
    chars = [_literal(c) for c in query if not c.isspace()]
    if len(chars) < 3:
        return []
    patterns = ["%" + "%".join(chars) + "%"]
    if len(chars) >= 4:
        patterns += ["%" + "%".join(chars[:i] + chars[i + 1:]) + "%" for i in range(len(chars))]
    return list(dict.fromkeys(patterns))


def _result(row) -> dict:
    item = plain_row(row)
    item["score"] = round(item["score"], 3)
    item["matches"] = [{"field": FIELDS[m["field_ord"]], "value": m["value"], "how": m["how"],
                        "how_zh": HOW_ZH[m["how"]], "score": round(m["score"], 3)}
                       for m in item["matches"]]
    item["matched"] = "；".join(f"{m['field']} {m['value']}" for m in item["matches"])
    return item


def search(conn: Connection, text: str, filters: Filters,
           limit: int = DEFAULT_LIMIT) -> list[dict]:
    """Projects matching ``text``, best first, as far as ``conn``'s user may see them.

    Each result has the project's id, permit_no, name, community, district_code, district,
    stage (code) and stage_zh, lon, lat, its score (0–1) and its matches: each matching field
    (``field``: 项目名称, 小区, 建设单位, 施工单位, 保险公司 or 风险管理机构), the value that
    matched (an organisation's full name), ``how`` it matched (exact, contains, fuzzy) and
    ``matched``, the same as one line of text. Raises FilterError for an empty or over-long
    text or limit.
    """
    query = search_text(text)
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterError(f"limit={limit}: expected a number from 1 to {MAX_LIMIT}")
    params = {"district": filters.district, "stage": filters.stage, "insurer": filters.insurer,
              "tis": filters.tis, "q": query, "contains": contains_pattern(query),
              "in_order": in_order_patterns(query), "trigram": TRIGRAM_THRESHOLD,
              "limit": limit}
    return [_result(row) for row in conn.execute(sql_text(read_sql("search.sql")), params)]
