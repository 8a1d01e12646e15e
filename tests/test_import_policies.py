"""Importing policies: shares as offices write them, cover dated by the programme's rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import importing
import pytest
from importing import demo_store
from sqlalchemy import text

from geo import programme
from loaders.imports.policies import COLUMNS

HEADERS = [c.template_header for c in COLUMNS]


@pytest.fixture(scope="module")
def store(make_database):
    return demo_store(make_database, projects=20)


@pytest.fixture(scope="module")
def names(store):
    with store.connect() as conn:
        kinds = {}
        for name, kind in conn.execute(text("SELECT name, kind FROM organisation ORDER BY id")):
            kinds.setdefault(kind, []).append(name)
        project = conn.execute(text("""SELECT permit_no, completion_date, construction_cost_yuan
            FROM project WHERE completion_date IS NOT NULL ORDER BY id LIMIT 1""")).one()
    return kinds, project


def policy_row(names, number: str, **changes) -> dict:
    kinds, project = names
    premium = project.construction_cost_yuan * 15 / 1000 / 10_000  # 1.5 % in 万元
    row = {"保单号": number, "报建号": project.permit_no, "主承保公司": kinds["insurer"][0],
           "主承保比例（%）": "", "共保公司及比例": f"{kinds['insurer'][1]} 30%；{kinds['insurer'][2]}（10%）",
           "再保险公司及比例": f"{kinds['reinsurer'][0]} 20%", "风险管理机构": kinds["tis"][0],
           "保费（万元）": f"{premium:.2f}", "费率（%）": "1.5%",
           "保险金额（万元）": f"{project.construction_cost_yuan / 10_000:.2f}",
           "签单日期": "2019年2月1日", "保单状态": "有效", "附加险": "电梯工程(2023-01-01至2026-12-31)"}
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict]) -> Path:
    return importing.write_csv(path, HEADERS, rows)


def run_import(engine, path: Path):
    return importing.run_import(engine, "policies", path)


def state(engine, policy_no: str) -> dict:
    with engine.connect() as conn:
        shares = conn.execute(text("""SELECT o.name, s.share, s.is_lead FROM policy_share s
            JOIN policy po ON po.id = s.policy_id JOIN organisation o ON o.id = s.insurer_id
            WHERE po.policy_no = :p ORDER BY s.share DESC"""), {"p": policy_no}).all()
        cover = dict(conn.execute(text("""SELECT cs.section, (cs.starts_on, cs.ends_on)::text
            FROM coverage_section cs JOIN policy po ON po.id = cs.policy_id
            WHERE po.policy_no = :p"""), {"p": policy_no}).all())
        ceded = conn.execute(text("""SELECT sum(r.share) FROM reinsurance_share r
            JOIN policy po ON po.id = r.policy_id WHERE po.policy_no = :p"""),
            {"p": policy_no}).scalar()
        counts = conn.execute(text("SELECT (SELECT count(*) FROM policy), "
                                   "(SELECT count(*) FROM import_log)")).one()
    return {"shares": shares, "cover": cover, "ceded": ceded, "counts": tuple(counts)}


def test_a_co_insured_policy_with_reinsurance_and_a_rider(store, names, tmp_path):
    result = run_import(store, write_csv(tmp_path / "p.csv", [policy_row(names, "P-1")]))
    assert result.errors == [] and result.inserted == 1
    got = state(store, "P-1")
    assert [float(s.share) for s in got["shares"]] == [0.6, 0.3, 0.1]
    assert got["shares"][0].is_lead and float(got["ceded"]) == 0.2
    start, end = programme.coverage_period("structure", names[1].completion_date)
    assert got["cover"]["structure"] == f"({start},{end})"
    assert got["cover"]["lift"] == "(2023-01-01,2026-12-31)"
    again = run_import(store, write_csv(tmp_path / "p.csv", [policy_row(names, "P-1")]))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert state(store, "P-1")["shares"] == got["shares"]


@pytest.mark.parametrize(("changes", "column", "phrase"), [
    ({"共保公司及比例": "无名保险 30%"}, "共保", "保险公司"),
    ({"主承保比例（%）": "50", "共保公司及比例": "{insurer1} 30%"}, "共保", "100%"),
    ({"报建号": "NO-SUCH"}, "报建号", "报建号"),
    ({"保费（万元）": "999999999"}, "保费", "保险金额"),
    ({"再保险公司及比例": "{reinsurer0} 80%；{reinsurer1} 40%"}, "再保险", "100%"),
    ({"附加险": "地基基础和主体结构工程"}, "附加险", "附加险"),
    ({"费率（%）": "12%"}, "费率", "10"),
    ({"风险管理机构": "不存在的机构"}, "风险管理机构", "风险管理机构"),
])
def test_a_bad_policy_writes_nothing(store, names, tmp_path, changes, column, phrase):
    kinds = names[0]
    fill = {f"insurer{i}": n for i, n in enumerate(kinds["insurer"])}
    fill.update({f"reinsurer{i}": n for i, n in enumerate(kinds["reinsurer"])})
    changes = {k: v.format(**fill) for k, v in changes.items()}
    before = state(store, "P-BAD")
    rows = [policy_row(names, "P-OK"), policy_row(names, "P-BAD", **changes)]
    result = run_import(store, write_csv(tmp_path / "bad.csv", rows))
    assert not result.written and state(store, "P-BAD")["counts"] == before["counts"]
    assert result.errors[0].row == 3 and column in result.errors[0].column
    assert phrase in result.errors[0].reason


def test_dates_in_the_cells_are_read_as_offices_write_them(store, names, tmp_path):
    row = policy_row(names, "P-D", 签单日期="44000")  # an Excel serial number
    assert run_import(store, write_csv(tmp_path / "d.csv", [row])).errors == []
    with store.connect() as conn:
        issued = conn.execute(text("SELECT issue_date FROM policy WHERE policy_no = 'P-D'")).scalar()
    assert issued == dt.date(2020, 6, 18)


def test_shares_finer_than_the_store_keeps_are_refused_before_writing(store, names, tmp_path):
    kinds = names[0]
    row = policy_row(names, "P-THIRDS", **{
        "主承保比例（%）": "33.334",
        "共保公司及比例": f"{kinds['insurer'][1]} 33.333%；{kinds['insurer'][2]} 33.333%"})
    result = run_import(store, write_csv(tmp_path / "thirds.csv", [row]))
    assert not result.written and "0.01%" in result.errors[0].reason


def test_a_policy_file_without_reinsurers_keeps_them(store, names, tmp_path):
    run_import(store, write_csv(tmp_path / "full.csv", [policy_row(names, "P-K")]))
    short = [h for h in HEADERS if h not in ("再保险公司及比例", "附加险", "风险管理机构")]
    row = {h: v for h, v in policy_row(names, "P-K", 签单日期="2019-03-01").items() if h in short}
    result = run_import(store, importing.write_csv(tmp_path / "short.csv", short, [row]))
    assert result.errors == [] and result.updated == 1
    got = state(store, "P-K")
    assert float(got["ceded"]) == 0.2 and "lift" in got["cover"]


def test_a_rate_header_in_per_mille(store, names, tmp_path):
    headers = [h.replace("费率（%）", "费率（‰）") for h in HEADERS]
    row = {h.replace("费率（%）", "费率（‰）"): v for h, v in policy_row(names, "P-PM").items()}
    row["费率（‰）"] = "15"
    result = run_import(store, importing.write_csv(tmp_path / "pm.csv", headers, [row]))
    assert result.errors == []
    with store.connect() as conn:
        rate = conn.execute(text("SELECT rate FROM policy WHERE policy_no = 'P-PM'")).scalar()
    assert float(rate) == 0.015
