"""Importing claims: every rule of the claim table as a row error, cover as a warning."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import importing
import pytest
from importing import demo_store
from sqlalchemy import text

from loaders.imports.claims import COLUMNS, IMPORT_KIND
from loaders.imports.columns import known_headers, match_headers
from loaders.imports.readers import read_table
from loaders.imports.templates import write_template

HEADERS = [c.template_header for c in COLUMNS]
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Programme:
    policies: list[tuple[str, dt.date]]   # (policy_no, insulation cover starts_on), no lift rider
    undated_policy: str                   # a policy whose project is not completed yet
    repairer: str
    developer: str


@pytest.fixture(scope="module")
def store(make_database):
    return demo_store(make_database, projects=30)


@pytest.fixture(scope="module")
def programme(store) -> Programme:
    with store.connect() as conn:
        policies = conn.execute(text("""SELECT po.policy_no, cs.starts_on FROM policy po
            JOIN coverage_section cs ON cs.policy_id = po.id
             AND cs.section = 'insulation_waterproofing' AND cs.starts_on IS NOT NULL
            WHERE NOT EXISTS (SELECT 1 FROM coverage_section l
                              WHERE l.policy_id = po.id AND l.section = 'lift')
            ORDER BY po.id LIMIT 2""")).all()
        undated = conn.execute(text("""SELECT min(po.policy_no) FROM policy po
            JOIN coverage_section cs ON cs.policy_id = po.id
            WHERE cs.section = 'structure' AND cs.starts_on IS NULL""")).scalar_one()
        first = dict(conn.execute(text(
            "SELECT kind, min(name) FROM organisation GROUP BY kind")).all())
    assert len(policies) == 2 and undated, "the demo should have dated and undated cover"
    return Programme([tuple(p) for p in policies], undated, first["repairer"],
                     first["developer"])


def claim_row(programme: Programme, claim_no: str, kind: str = "accepted", policy: int = 0,
              **changes) -> dict:
    """A consistent claim, reported 200 days into the insulation cover: accepted and repaired,
    rejected with its notice, or just reported."""
    policy_no, starts = programme.policies[policy]
    day = starts + 200 * DAY
    row = dict.fromkeys(HEADERS, "")
    row.update({"案件号": claim_no, "保单号": policy_no, "房号": "3栋2单元1502",
                "报案人": "张女士", "联系电话": "13800000000", "保险责任": "保温防水",
                "出险原因": "卫生间防水层渗漏", "复杂案件": "否", "报案日期": day.isoformat(),
                "查勘日期": (day + DAY).isoformat(), "索赔金额（元）": "20,000"})
    if kind == "accepted":
        row.update({"核定日期": (day + 5 * DAY).isoformat(), "核定结果": "赔付",
                    "核定理由": "属于保温和防水工程质量缺陷",
                    "协议日期": (day + 8 * DAY).isoformat(),
                    "维修或赔付完成日期": (day + 15 * DAY).isoformat(),
                    "赔付金额（元）": "18000", "维修单位": programme.repairer})
    elif kind == "rejected":
        row.update({"核定日期": (day + 5 * DAY).isoformat(), "核定结果": "拒赔",
                    "除外原因": "房屋所有权人或使用人责任", "核定理由": "业主自行改造卫生间",
                    "拒赔通知日期": (day + 6 * DAY).isoformat()})
    # "{developer}" and the like name one of the store's organisations
    row.update({k: v.format(**vars(programme)) for k, v in changes.items()})
    return row


def write_csv(path: Path, rows: list[dict], headers: list[str] = HEADERS) -> Path:
    return importing.write_csv(path, headers, rows, encoding="utf-8")


def run_import(engine, path: Path, **options):
    return importing.run_import(engine, "claims", path, **options)


def snapshot(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(text("""SELECT (SELECT count(*) FROM claim),
            (SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM claim c),
            (SELECT count(*) FROM import_log)""")).one())


def stored(engine, claim_no: str):
    with engine.connect() as conn:
        return conn.execute(text("""SELECT c.status, c.decision, c.reported_on,
            c.claimed_amount_yuan, c.paid_amount_yuan, c.is_complex, c.is_emergency,
            c.exclusion, c.unit_no, o.name AS repairer, po.policy_no FROM claim c
            JOIN policy po ON po.id = c.policy_id
            LEFT JOIN organisation o ON o.id = c.repairer_id
            WHERE c.claim_no = :n"""), {"n": claim_no}).one()


def test_a_csv_imports_and_a_second_import_changes_nothing(store, programme, tmp_path):
    rows = [claim_row(programme, "T-CL-1"), claim_row(programme, "T-CL-2", "rejected"),
            claim_row(programme, "T-CL-3", "reported", policy=1)]
    path = write_csv(tmp_path / "claims.csv", rows)
    first = run_import(store, path)
    assert (first.errors, first.warnings, first.inserted, first.updated) == ([], [], 3, 0)
    accepted, rejected = stored(store, "T-CL-1"), stored(store, "T-CL-2")
    assert (accepted.status, accepted.decision, accepted.repairer) == (
        "settled", "accepted", programme.repairer)
    assert (accepted.claimed_amount_yuan, accepted.paid_amount_yuan) == (20_000, 18_000)
    assert (rejected.status, rejected.paid_amount_yuan, rejected.exclusion) == (
        "rejected", 0, "owner_fault")
    assert stored(store, "T-CL-3").policy_no == programme.policies[1][0]
    again = run_import(store, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    rows[2]["房号"] = "5栋1单元302"
    corrected = run_import(store, write_csv(tmp_path / "fixed.csv", rows))
    assert (corrected.inserted, corrected.updated, corrected.unchanged) == (0, 1, 2)
    assert stored(store, "T-CL-3").unit_no == "5栋1单元302"


def test_an_xlsx_with_wan_yuan_excel_dates_and_other_headers(store, programme, tmp_path):
    from openpyxl import Workbook

    row = claim_row(programme, "T-CL-X1")
    serial = (dt.date.fromisoformat(row["报案日期"]) - dt.date(1899, 12, 30)).days
    aliases = {"案件号": "报案号", "房号": "出险房屋", "维修或赔付完成日期": "结案日期",
               "索赔金额（元）": "索赔金额（万元）", "赔付金额（元）": "赔付金额（万元）"}
    row.update({"索赔金额（元）": 2.5, "赔付金额（元）": "1.8", "报案日期": serial,
                "复杂案件": "是", "应急维修": True})
    book = Workbook()
    sheet = book.active
    sheet.append(["2025年理赔案件清单"])
    sheet.append([aliases.get(h, h) for h in HEADERS])
    sheet.append([row[h] for h in HEADERS])
    book.save(tmp_path / "理赔.xlsx")
    result = run_import(store, tmp_path / "理赔.xlsx")
    assert result.errors == [] and result.inserted == 1
    claim = stored(store, "T-CL-X1")
    assert (claim.claimed_amount_yuan, claim.paid_amount_yuan) == (25_000, 18_000)
    assert claim.reported_on == programme.policies[0][1] + 200 * DAY
    assert (claim.is_complex, claim.is_emergency, claim.status) == (True, True, "settled")


DERIVED = [
    ("reported", {"查勘日期": ""}, "reported"),
    ("reported", {}, "surveyed"),
    ("accepted", {"协议日期": "", "维修或赔付完成日期": "", "赔付金额（元）": ""}, "accepted"),
    ("accepted", {"维修或赔付完成日期": ""}, "agreed"),
    ("accepted", {}, "settled"),
    ("rejected", {}, "rejected"),
    ("accepted", {"案件状态": "已结案"}, "closed"),
]


@pytest.mark.parametrize(("kind", "changes", "status"), DERIVED)
def test_a_blank_status_follows_from_the_dates(store, programme, tmp_path, kind, changes,
                                               status):
    number = f"T-CL-S-{status}"
    result = run_import(store, write_csv(tmp_path / "s.csv",
                                         [claim_row(programme, number, kind, **changes)]))
    assert result.errors == [] and result.inserted + result.updated == 1
    assert stored(store, number).status == status


def _day(programme: Programme, offset: int) -> str:
    return (programme.policies[0][1] + (200 + offset) * DAY).isoformat()


# (base claim, changes, header blamed as written); a date as days after the report (_day)
BAD_ROWS = [
    ("accepted", {"保单号": "IDI-NO-SUCH"}, "保单号"),
    ("accepted", {"保险责任": "电梯"}, "保险责任"),
    ("accepted", {"保险责任": "屋面"}, "保险责任"),
    ("accepted", {"维修单位": "不存在房屋维修服务有限公司"}, "维修单位"),
    ("accepted", {"维修单位": "{developer}"}, "维修单位"),
    ("accepted", {"报案人": ""}, "报案人"),
    ("accepted", {"查勘日期": -1}, "查勘日期"),
    ("accepted", {"核定日期": -1}, "核定日期"),
    ("accepted", {"核定日期": ""}, "核定日期"),
    ("accepted", {"核定结果": ""}, "核定结果"),
    ("accepted", {"除外原因": "第三方造成"}, "除外原因"),
    ("rejected", {"核定理由": ""}, "核定理由"),
    ("rejected", {"赔付金额（元）": "500"}, "赔付金额（元）"),
    ("accepted", {"拒赔通知日期": 6}, "拒赔通知日期"),
    ("rejected", {"拒赔通知日期": 4}, "拒赔通知日期"),
    ("rejected", {"协议日期": 8}, "协议日期"),
    ("accepted", {"协议日期": 4}, "协议日期"),
    ("accepted", {"协议日期": ""}, "维修或赔付完成日期"),
    ("accepted", {"维修或赔付完成日期": 7}, "维修或赔付完成日期"),
    ("accepted", {"案件状态": "已查勘"}, "案件状态"),
    ("rejected", {"案件状态": "已核定赔付"}, "案件状态"),
    ("accepted", {"维修或赔付完成日期": "", "案件状态": "已维修/赔付"}, "案件状态"),
    ("accepted", {"协议日期": "", "维修或赔付完成日期": "", "案件状态": "已达成协议"}, "案件状态"),
    ("accepted", {"索赔金额（元）": "0"}, "索赔金额（元）"),
    ("accepted", {"索赔金额（元）": "2e12"}, "索赔金额（元）"),
]


@pytest.mark.parametrize(("kind", "changes", "column"), BAD_ROWS,
                         ids=[f"rule{i}" for i in range(len(BAD_ROWS))])
def test_a_bad_row_writes_nothing_and_says_where(store, programme, tmp_path, kind, changes,
                                                 column):
    changes = {k: _day(programme, v) if isinstance(v, int) else v for k, v in changes.items()}
    before = snapshot(store)
    rows = [claim_row(programme, "T-CL-OK"), claim_row(programme, "T-CL-BAD", kind, **changes)]
    result = run_import(store, write_csv(tmp_path / "bad.csv", rows))
    assert snapshot(store) == before and not result.written
    assert [(p.row, p.column) for p in result.errors] == [(3, column)], result.errors
    assert result.errors[0].reason


def test_reasons_are_the_clerks_to_act_on(store, programme, tmp_path):
    rows = [claim_row(programme, "T-CL-R1", 保单号="IDI-NO-SUCH"),
            claim_row(programme, "T-CL-R2", 维修单位="{developer}"),
            claim_row(programme, "T-CL-R3", 保险责任="电梯")]
    result = run_import(store, write_csv(tmp_path / "reasons.csv", rows))
    reasons = [p.reason for p in result.errors]
    assert "库中无此保单号" in reasons[0] and "建设单位" in reasons[1]
    assert "未承保" in reasons[2] and "保温和防水工程" in reasons[2]


def test_a_claim_outside_the_cover_is_recorded_with_a_warning(store, programme, tmp_path):
    early = {h: _day(programme, -400 + offset) for h, offset in (
        ("报案日期", 0), ("查勘日期", 1), ("核定日期", 5), ("拒赔通知日期", 6))}
    rows = [claim_row(programme, "T-CL-EARLY", "rejected", 核定理由="尚未进入保险期间", **early)]
    result = run_import(store, write_csv(tmp_path / "early.csv", rows))
    assert result.errors == [] and result.inserted == 1
    assert [(p.row, p.column) for p in result.warnings] == [(2, "报案日期")]
    assert "保险期间" in result.warnings[0].reason
    assert stored(store, "T-CL-EARLY").status == "rejected"


def test_a_claim_on_cover_not_dated_yet_is_recorded_with_a_warning(store, programme, tmp_path):
    row = claim_row(programme, "T-CL-UNDATED", "reported", 保险责任="主体结构",
                    保单号=programme.undated_policy)
    result = run_import(store, write_csv(tmp_path / "undated.csv", [row]))
    assert result.errors == [] and result.inserted == 1
    assert [(p.row, p.column) for p in result.warnings] == [(2, "保险责任")]
    assert "尚无保险期间" in result.warnings[0].reason


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_the_template_headers_read_back_as_the_columns(tmp_path, suffix):
    path = write_template("claims", tmp_path / f"claims-template{suffix}")
    table = read_table(path, known_headers=known_headers(IMPORT_KIND.columns))
    assert table.headers == HEADERS
    matched = match_headers(table.headers, IMPORT_KIND.columns)
    assert [c.name for c in matched.values()] == [c.name for c in COLUMNS]
    assert len(table.rows) == 1  # the example row


def test_the_registry_finds_the_kind():
    from loaders.imports.registry import KINDS

    assert KINDS["claims"] is IMPORT_KIND and IMPORT_KIND.key == "claim_no"
