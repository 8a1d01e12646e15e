"""Importing risk events from TIS agencies: linked to projects and inspections, every rule explained."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import importing
import pytest
from click.testing import CliRunner
from importing import demo_store
from sqlalchemy import text

from loaders import demo
from loaders.imports.columns import known_headers
from loaders.imports.readers import read_table
from loaders.imports.risk_events import COLUMNS
from loaders.imports.templates import write_template

HEADERS = [c.template_header for c in COLUMNS]
AS_OF = demo.DEFAULT_AS_OF  # the demo fixes the data's day; the real today is later


@pytest.fixture(scope="module")
def store(make_database):
    return demo_store(make_database, projects=20)


@pytest.fixture(scope="module")
def names(store) -> dict:
    """Permit numbers, TIS and an insurer of the demo, and one of its inspections."""
    with store.connect() as conn:
        permits = conn.execute(text("SELECT permit_no FROM project ORDER BY id")).scalars().all()
        kinds: dict[str, list[str]] = {}
        for name, kind in conn.execute(text("SELECT name, kind FROM organisation ORDER BY id")):
            kinds.setdefault(kind, []).append(name)
        inspection = conn.execute(text("""SELECT i.id, p.permit_no, o.name AS tis, i.stage,
            i.inspected_on FROM inspection i JOIN project p ON p.id = i.project_id
            JOIN organisation o ON o.id = i.tis_id ORDER BY i.id LIMIT 1""")).one()
    return {"permits": permits, "tis": kinds["tis"], "insurer": kinds["insurer"][0],
            "inspection": inspection}


def event_row(names: dict, number: str, **changes) -> dict:
    row = {"风险事件编号": number, "报建号": names["permits"][0], "风险类别": "防水",
           "风险等级": "较重", "整改状态": "已销项", "问题描述": "卫生间防水层局部破损",
           "部位": "3号楼5层", "发现日期": "2024-05-10", "整改期限": "2024/5/25",
           "销项日期": "2024年5月20日", "风险管理机构": names["tis"][0], "检查阶段": "主体结构施工"}
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], headers: list[str] = HEADERS) -> Path:
    return importing.write_csv(path, headers, rows, encoding="utf-8")


def run_import(engine, path: Path, kind: str = "risk-events", **options):
    return importing.run_import(engine, kind, path, **options)


SNAPSHOT = text("""SELECT
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM risk_event t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM inspection t),
    (SELECT count(*) FROM import_log)""")


def snapshot(engine) -> tuple:
    """Every column of every risk event and inspection, and the import log's length."""
    with engine.connect() as conn:
        return tuple(conn.execute(SNAPSHOT).one())


def event(engine, number: str):
    with engine.connect() as conn:
        return conn.execute(text("""SELECT e.*, p.permit_no, i.stage AS inspected_stage,
            i.inspected_on, o.name AS tis FROM risk_event e JOIN project p ON p.id = e.project_id
            LEFT JOIN inspection i ON i.id = e.inspection_id
            LEFT JOIN organisation o ON o.id = i.tis_id WHERE e.event_no = :n"""),
            {"n": number}).one()


def inspections(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM inspection")).scalar_one()


def test_a_csv_imports_links_inspections_and_a_second_import_changes_nothing(
        store, names, tmp_path):
    rows = [event_row(names, "T-CSV-1"),
            event_row(names, "T-CSV-2", 风险等级="严重", 整改状态="整改中", 销项日期=""),
            event_row(names, "T-CSV-3", 风险管理机构="", 检查阶段="", 风险类别="外墙")]
    before = inspections(store)
    path = write_csv(tmp_path / "events.csv", rows)
    first = run_import(store, path)
    assert (first.errors, first.warnings, first.inserted, first.updated) == ([], [], 3, 0)
    assert inspections(store) == before + 1  # the first two events share one new inspection
    one, two, three = (event(store, f"T-CSV-{i}") for i in (1, 2, 3))
    assert (one.category, one.severity, one.status, one.permit_no) == (
        "waterproofing", "major", "closed", names["permits"][0])
    assert (one.found_on, one.due_on, one.closed_on) == (
        dt.date(2024, 5, 10), dt.date(2024, 5, 25), dt.date(2024, 5, 20))
    assert (one.tis, one.inspected_stage, one.inspected_on) == (
        names["tis"][0], "main_structure", dt.date(2024, 5, 10))
    assert two.inspection_id == one.inspection_id and two.status == "rectifying"
    assert three.inspection_id is None and three.category == "facade"
    again = run_import(store, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert inspections(store) == before + 1
    rows[1].update(整改状态="已销项", 销项日期="2024-05-30")
    corrected = run_import(store, write_csv(tmp_path / "fixed.csv", rows))
    assert (corrected.inserted, corrected.updated, corrected.unchanged) == (0, 1, 2)
    fixed = event(store, "T-CSV-2")
    assert (fixed.status, fixed.closed_on) == ("closed", dt.date(2024, 5, 30))


def test_an_event_of_an_existing_inspection_is_linked_to_it(store, names, tmp_path):
    found = names["inspection"]
    row = event_row(names, "T-LINK-1", 报建号=found.permit_no, 风险管理机构=found.tis,
                    检查阶段=found.stage, 发现日期=found.inspected_on.isoformat(),
                    整改状态="待整改", 整改期限="", 销项日期="")
    before = inspections(store)
    result = run_import(store, write_csv(tmp_path / "linked.csv", [row]))
    assert result.errors == [] and result.inserted == 1
    assert inspections(store) == before
    assert event(store, "T-LINK-1").inspection_id == found.id


def test_a_stage_without_its_tis_is_reported_and_left_unlinked(store, names, tmp_path):
    row = event_row(names, "T-NOTIS-1", 风险管理机构="")
    result = run_import(store, write_csv(tmp_path / "notis.csv", [row]))
    assert result.errors == [] and result.inserted == 1
    assert [p.column for p in result.warnings] == ["检查阶段"]
    assert event(store, "T-NOTIS-1").inspection_id is None


def test_an_xlsx_with_a_title_row_aliases_and_excel_dates(store, names, tmp_path):
    from openpyxl import Workbook

    aliases = {"风险事件编号": "事件编号", "发现日期": "检查日期", "销项日期": "整改完成日期",
               "部位": "所在部位", "整改期限": "整改截止日期"}
    headers = [aliases.get(h, h) for h in HEADERS]
    row = event_row(names, "T-X-1", 发现日期=dt.datetime(2024, 6, 3, 9, 30),
                    整改期限=45473, 销项日期=dt.date(2024, 6, 20), 报建号=names["permits"][1])
    book = Workbook()
    sheet = book.active
    sheet.title = "风险事件"
    sheet.append(["2024年昆明市住宅工程质量风险事件清单"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    sheet.append(headers)
    sheet.append([row[h] for h in HEADERS])
    path = tmp_path / "风险事件.xlsx"
    book.save(path)
    result = run_import(store, path)
    assert result.errors == [] and result.inserted == 1
    saved = event(store, "T-X-1")
    assert (saved.found_on, saved.due_on, saved.closed_on) == (
        dt.date(2024, 6, 3), dt.date(2024, 6, 30), dt.date(2024, 6, 20))
    assert saved.location_in_building == "3号楼5层" and saved.inspected_on == dt.date(2024, 6, 3)


FUTURE = (AS_OF + dt.timedelta(days=10)).isoformat()
BAD_ROWS = [
    ({"整改状态": "已销项", "销项日期": ""}, "整改状态", "须填销项日期"),
    ({"整改状态": "整改中"}, "整改状态", "不应填销项日期"),
    ({"整改状态": "待整改"}, "整改状态", "不应填销项日期"),
    ({"整改期限": "2024-05-01"}, "整改期限", "早于发现日期"),
    ({"销项日期": "2024-05-09"}, "销项日期", "早于发现日期"),
    ({"发现日期": FUTURE, "整改期限": "", "销项日期": "", "整改状态": "待整改"}, "发现日期",
     "晚于数据日期"),
    ({"销项日期": FUTURE}, "销项日期", "晚于数据日期"),
    ({"报建号": "NO-SUCH-PERMIT"}, "报建号", "库中无此报建号的项目，请先导入项目"),
    ({"风险管理机构": "不存在工程质量风险管理有限公司"}, "风险管理机构", "库中无此风险管理机构"),
    ({"风险管理机构": "INSURER"}, "风险管理机构", "不是风险管理机构"),
    ({"风险类别": "漏水"}, "风险类别", "无法识别"),
    ({"风险等级": ""}, "风险等级", "必填"),
    ({"整改状态": "已完成"}, "整改状态", "无法识别"),
    ({"检查阶段": "在建"}, "检查阶段", "无法识别"),
    ({"发现日期": "2024-02-30"}, "发现日期", "日期不存在"),
    ({"风险事件编号": "T-OK-1"}, "风险事件编号", "重复"),
]


@pytest.mark.parametrize(("changes", "column", "reason"), BAD_ROWS)
def test_a_bad_row_writes_nothing_and_says_where(store, names, tmp_path, changes, column,
                                                 reason):
    if changes.get("风险管理机构") == "INSURER":
        changes = {"风险管理机构": names["insurer"]}
    before = snapshot(store)
    rows = [event_row(names, "T-OK-1"), event_row(names, "T-BAD-1", **changes)]
    result = run_import(store, write_csv(tmp_path / "bad.csv", rows))
    assert snapshot(store) == before and not result.written
    assert [(p.row, p.column) for p in result.errors] == [(3, column)]  # header is line 1
    problem = result.errors[0]
    assert reason in problem.reason
    assert " — " in problem.reason or " / " in problem.reason  # Chinese, then English


def test_the_unknown_permit_number_is_named(store, names, tmp_path):
    row = event_row(names, "T-P-1", 报建号="530199-2099-0009")
    result = run_import(store, write_csv(tmp_path / "permit.csv", [row]))
    assert result.errors[0].value == "530199-2099-0009"
    assert "530199-2099-0009" in result.errors[0].line("permit.csv")


def test_one_pass_reports_every_problem_of_a_row(store, names, tmp_path):
    row = event_row(names, "T-M-1", 报建号="NO-SUCH", 整改期限="2024-01-01", 销项日期="")
    result = run_import(store, write_csv(tmp_path / "many.csv", [row]))
    assert sorted(p.column for p in result.errors) == ["报建号", "整改期限", "整改状态"]


def test_partial_loads_only_the_valid_rows(store, names, tmp_path):
    rows = [event_row(names, "T-PART-1"), event_row(names, "T-PART-2", 报建号="NO-SUCH")]
    result = run_import(store, write_csv(tmp_path / "partial.csv", rows), partial=True)
    assert result.written and (result.inserted, result.rejected_rows) == (1, 1)


def test_the_template_command_writes_headers_that_read_back(tmp_path):
    from webmap.cli.imports import template_command

    path = tmp_path / "risk-events-template.csv"
    done = CliRunner().invoke(template_command,
                              ["risk-events", "--format", "csv", "--output", str(path)])
    assert done.exit_code == 0, done.output
    table = read_table(path, known_headers=known_headers(COLUMNS))
    assert table.headers == HEADERS and len(table.rows) == 1


def test_the_template_example_imports_once_its_project_and_tis_exist(store, tmp_path):
    projects = run_import(store, write_template("projects", tmp_path / "p.xlsx"), "projects")
    assert projects.errors == []
    example = {c.name: c.example for c in COLUMNS}
    organisations = tmp_path / "tis.csv"
    organisations.write_text(f"单位名称,单位类型\n{example['tis']},风险管理机构\n",
                             encoding="utf-8")
    assert run_import(store, organisations, "organisations").errors == []
    path = write_template("risk-events", tmp_path / "risk-events-template.csv")
    result = run_import(store, path)
    assert result.errors == [] and result.inserted == 1
    saved = event(store, example["event_no"])
    assert (saved.permit_no, saved.tis, saved.inspected_stage) == (
        example["permit_no"], example["tis"], "main_structure")
