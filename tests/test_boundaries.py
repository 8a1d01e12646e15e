"""Issue 14: the write path as a hostile tenant would try it. Every upload kind as every tenant
(a lead insurer, its co-insurer, a TIS, a developer, the anonymous public): creating on a
foreign project, naming another lead, changing a foreign policy, deciding for the regulator,
probing with dry runs. Each is refused with a clear message and writes nothing, and what each
tenant sees as the web role (row security, direct SQL) is unchanged; a foreign key gets the
very answer an unknown one gets. And what a tenant may read: an insurer's claims and policy
figures stop at its own policies; the web role reads no password or token hash."""

from __future__ import annotations

import io

import importing
import pytest
from importing import demo_store
from jobs import finished_api
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from conftest import account, as_web
from geo.tenancy import Tenant
from loaders.imports.claims import COLUMNS as CLAIM_COLUMNS
from loaders.imports.policies import COLUMNS as POLICY_COLUMNS
from loaders.imports.registry import KINDS
from loaders.imports.risk_events import COLUMNS as EVENT_COLUMNS
from webmap import accounts, create_app

HEADERS = {"policies": [c.template_header for c in POLICY_COLUMNS],
           "claims": [c.template_header for c in CLAIM_COLUMNS],
           "risk-events": [c.template_header for c in EVENT_COLUMNS]}
UNKNOWN_PERMIT = "530102-1999-9999"


@pytest.fixture(scope="module")
def store(make_database):
    """A store of its own (the attacks that wrongly succeed would write)."""
    return demo_store(make_database, projects=40)


@pytest.fixture(scope="module")
def app(store):
    return create_app({"TESTING": True,
                       "DATABASE_URL": store.url.render_as_string(hide_password=False)})


def _one(conn, sql: str, **params):
    return conn.execute(text(sql), params).one()


@pytest.fixture(scope="module")
def cast(store) -> dict:
    """A co-insured policy (its lead, its co-insurer), another insurer's live policy that
    neither holds a share of, a project nobody insures, the policy's TIS and another TIS's
    project, a developer; with a claim on the foreign policy."""
    with store.begin() as conn:
        shared = _one(conn, """
            SELECT po.id, po.policy_no, po.project_id, po.lead_insurer_id AS lead,
                   po.tis_id AS tis, s.insurer_id AS co, p.permit_no
            FROM policy po JOIN policy_share s ON s.policy_id = po.id AND NOT s.is_lead
            JOIN project p ON p.id = po.project_id
            WHERE po.status = 'confirmed' AND po.tis_id IS NOT NULL ORDER BY po.id LIMIT 1""")
        foreign = _one(conn, """
            SELECT po.id, po.policy_no, p.permit_no, po.lead_insurer_id AS lead FROM policy po
            JOIN project p ON p.id = po.project_id
            WHERE po.status = 'confirmed' AND po.lead_insurer_id NOT IN (:a, :b)
              AND NOT EXISTS (SELECT 1 FROM policy_share s WHERE s.policy_id = po.id
                              AND s.insurer_id IN (:a, :b))
              AND (po.tis_id IS NULL OR po.tis_id <> :t)
              AND NOT EXISTS (SELECT 1 FROM policy o WHERE o.project_id = po.project_id
                              AND o.tis_id = :t)
            ORDER BY po.id LIMIT 1""", a=shared.lead, b=shared.co, t=shared.tis)
        claim_no = conn.execute(text(
            "INSERT INTO claim (claim_no, policy_id, unit_no, reporter_name, section, cause, "
            "status, reported_on) VALUES ('BD-FOREIGN-1', :p, '1-101', '王先生', 'structure', "
            "'裂缝', 'reported', '2025-03-01') RETURNING claim_no"),
            {"p": foreign.id}).scalar_one()
        event_no = conn.execute(text(
            "INSERT INTO risk_event (event_no, project_id, category, severity, status, "
            "found_on, description) SELECT 'BD-EVENT-1', p.id, 'waterproofing', 'major', "
            "'open', '2024-05-01', '渗漏' FROM project p WHERE p.permit_no = :permit "
            "RETURNING event_no"), {"permit": foreign.permit_no}).scalar_one()
        uninsured = conn.execute(text(
            "SELECT permit_no FROM project p WHERE NOT EXISTS (SELECT 1 FROM policy po "
            "WHERE po.project_id = p.id AND po.status IN ('submitted', 'confirmed')) "
            "ORDER BY id LIMIT 1")).scalar()
        names = dict(conn.execute(text("SELECT id, name FROM organisation")).all())
        other_tis = conn.execute(text("SELECT id FROM organisation WHERE kind = 'tis' "
                                      "AND id <> :t ORDER BY id LIMIT 1"),
                                 {"t": shared.tis}).scalar_one()
        developer = conn.execute(text("SELECT developer_id FROM project WHERE id = :p"),
                                 {"p": shared.project_id}).scalar_one()
    assert uninsured, "the demo store should hold a project nobody insures"
    return {"shared": shared, "foreign": foreign, "claim_no": claim_no, "event_no": event_no,
            "uninsured": uninsured, "names": names, "other_tis": other_tis,
            "developer": developer}


TENANTS = {"lead": ("insurer", "lead"), "co": ("insurer", "co"), "tis": ("tis", "tis"),
           "developer": ("developer", None)}


def tenant_of(cast, who: str) -> Tenant:
    role, key = TENANTS[who]
    org = cast["developer"] if who == "developer" else getattr(cast["shared"], key)
    return Tenant(role, org)


def headers_for(store, cast, who: str) -> dict:
    if who == "anonymous":
        return {}
    tenant = tenant_of(cast, who)
    with store.begin() as conn:
        token = accounts.issue_token(conn, account(store, tenant.role, tenant.organisation_id),
                                     "attack", actor="test")
    return {"Authorization": f"Bearer {token}"}


def upload(app, headers: dict, kind: str, rows: list[dict], tmp_path, dry_run=False):
    content = importing.write_csv(tmp_path / "attack.csv", HEADERS[kind], rows).read_bytes()
    queued = app.test_client().post(
        f"/api/imports/{kind}", headers=headers,
        data={"file": (io.BytesIO(content), "attack.csv"), **({"dry_run": "1"} if dry_run
                                                              else {})},
        content_type="multipart/form-data")
    return finished_api(app, queued, headers)


def policy_row(cast, number: str, permit: str, lead: int, **changes) -> dict:
    return {"保单号": number, "报建号": permit, "主承保公司": cast["names"][lead],
            "保费（万元）": "15", "费率（%）": "1.5%", "保险金额（万元）": "1000",
            "签单日期": "2024-03-01", **changes}


def claim_row(policy_no: str, number: str) -> dict:
    return {"案件号": number, "保单号": policy_no, "房号": "3栋2单元1502", "报案人": "张女士",
            "保险责任": "地基基础和主体结构工程", "报案日期": "2025-03-02"}


def event_row(permit: str, number: str, **changes) -> dict:
    return {"风险事件编号": number, "报建号": permit, "风险类别": "防水", "风险等级": "较重",
            "整改状态": "待整改", "问题描述": "卫生间防水层局部破损", "发现日期": "2024-05-10",
            **changes}


VISIBLE = text("""SELECT
    (SELECT md5(COALESCE(string_agg(t::text, ',' ORDER BY t.id), '')) FROM policy t),
    (SELECT md5(COALESCE(string_agg(t::text, ',' ORDER BY t.policy_id, t.insurer_id), ''))
       FROM policy_share t),
    (SELECT md5(COALESCE(string_agg(t::text, ',' ORDER BY t.id), '')) FROM claim t),
    (SELECT md5(COALESCE(string_agg(t::text, ',' ORDER BY t.id), '')) FROM risk_event t),
    (SELECT md5(COALESCE(string_agg(t::text, ',' ORDER BY t.id), '')) FROM project t)""")
EVERYTHING = text("""SELECT
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM policy t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.policy_id, t.insurer_id)) FROM policy_share t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM claim t),
    (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM risk_event t),
    (SELECT count(*) FROM lifecycle_step), (SELECT count(*) FROM import_log)""")


def seen(store, cast) -> dict:
    """What each tenant sees, read as the web role through row security."""
    out = {}
    with store.connect() as conn:
        for who in TENANTS:
            with conn.begin(), as_web(conn, tenant_of(cast, who)):
                out[who] = tuple(conn.execute(VISIBLE).one())
        out["store"] = tuple(conn.execute(EVERYTHING).one())
    return out


def attacks(cast) -> list[tuple[str, str, str, list[dict], str]]:
    """(who, kind, what it tries, rows, the words of its refusal)."""
    s, f = cast["shared"], cast["foreign"]
    unknown_project = "库中无此报建号的项目"
    return [
        ("lead", "policies", "a new policy on another insurer's project",
         [policy_row(cast, "BD-P-1", f.permit_no, s.lead)], unknown_project),
        ("lead", "policies", "a policy naming another insurer as lead",
         [policy_row(cast, "BD-P-2", cast["uninsured"], f.lead,
                     **{"共保公司及比例": f"{cast['names'][s.lead]} 0.01%"})],
         "主承保公司须为本公司"),
        ("lead", "policies", "taking over another insurer's policy",
         [policy_row(cast, f.policy_no, f.permit_no, s.lead)], "已被其他公司的保单使用"),
        ("lead", "policies", "cancelling its own policy by file",
         [policy_row(cast, s.policy_no, s.permit_no, s.lead, 保单状态="已注销")],
         "解除合同、终止保险请在保单页面办理"),
        ("co", "policies", "a co-insurer re-importing the lead's policy at 1 元, cancelled",
         [policy_row(cast, s.policy_no, s.permit_no, s.co, **{"保费（万元）": "0.0001",
                                                                 "保单状态": "已注销"})],
         "本公司是该保单的共保公司"),
        ("co", "policies", "a co-insurer naming itself lead of the shared project",
         [policy_row(cast, "BD-P-3", s.permit_no, s.co)], unknown_project),
        ("lead", "claims", "a claim on another insurer's policy",
         [claim_row(f.policy_no, "BD-C-1")], "库中无此保单号"),
        ("lead", "claims", "rewriting another insurer's claim",
         [claim_row(s.policy_no, cast["claim_no"])], "已被其他公司的案件使用"),
        ("co", "claims", "a co-insurer filing a claim on the lead's policy",
         [claim_row(s.policy_no, "BD-C-2")], "库中无此保单号"),
        ("tis", "risk-events", "an event on a project whose policy does not name it",
         [event_row(f.permit_no, "BD-E-1")], unknown_project),
        ("tis", "risk-events", "rewriting another agency's event",
         [event_row(s.permit_no, cast["event_no"])], "已被其他机构的风险事件使用"),
        ("tis", "risk-events", "reporting in another agency's name",
         [event_row(s.permit_no, "BD-E-2", 风险管理机构=cast["names"][cast["other_tis"]])],
         "风险管理机构须为本机构"),
    ]


def test_every_trespass_is_refused_writes_nothing_and_changes_nobody_s_view(app, store, cast,
                                                                          tmp_path):
    before = seen(store, cast)
    for who, kind, tried, rows, words in attacks(cast):
        headers = headers_for(store, cast, who)
        for dry_run in (True, False):
            answer = upload(app, headers, kind, rows, tmp_path, dry_run=dry_run)
            assert answer.status_code == 422, (who, tried, dry_run, answer.json)
            messages = [e["message"] for e in answer.json["errors"]]
            assert any(words in m for m in messages), (who, tried, messages)
            assert all(e["row"] == 2 for e in answer.json["errors"]), (tried, messages)
            assert not answer.json["imported"] and answer.json["counts"]["inserted"] == 0
    assert seen(store, cast) == before


@pytest.mark.parametrize("who", ["developer", "anonymous", "tis", "lead"])
def test_kinds_outside_a_role_are_refused_before_the_file_is_read(app, store, cast, tmp_path,
                                                                 who):
    headers = headers_for(store, cast, who)
    allowed = {"developer": (), "anonymous": (), "tis": ("risk-events",),
               "lead": ("policies", "claims")}[who]
    before = seen(store, cast)
    for kind in KINDS:
        if kind in allowed:
            continue
        rows = [event_row(cast["shared"].permit_no, "BD-X-1")] if kind == "risk-events" else []
        answer = upload(app, headers, kind, rows, tmp_path) if kind in HEADERS else (
            app.test_client().post(f"/api/imports/{kind}", headers=headers,
                                   data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
                                   content_type="multipart/form-data"))
        assert answer.status_code == (401 if who == "anonymous" else 403), (who, kind)
    assert seen(store, cast) == before


def _errors(answer) -> list[tuple]:
    return [(e["row"], e["column"], e["message"]) for e in answer.json["errors"]]


def test_a_dry_run_tells_a_foreign_key_from_an_unknown_one_in_nothing(app, store, cast,
                                                                      tmp_path):
    s, f = cast["shared"], cast["foreign"]
    lead = headers_for(store, cast, "lead")
    foreign = upload(app, lead, "policies", [policy_row(cast, "BD-D-1", f.permit_no, s.lead)],
                     tmp_path, dry_run=True)
    unknown = upload(app, lead, "policies",
                     [policy_row(cast, "BD-D-1", UNKNOWN_PERMIT, s.lead)], tmp_path,
                     dry_run=True)
    assert _errors(foreign) == _errors(unknown)
    # no warning either: before, "premium ≠ rate × cost" printed the competitor's cost
    assert foreign.json["warnings"] == unknown.json["warnings"] == []
    claims = [upload(app, lead, "claims", [claim_row(number, "BD-D-2")], tmp_path,
                     dry_run=True) for number in (f.policy_no, "IDI-NO-SUCH-POLICY")]
    assert _errors(claims[0]) == _errors(claims[1])
    tis = headers_for(store, cast, "tis")
    events = [upload(app, tis, "risk-events", [event_row(permit, "BD-D-3")], tmp_path,
                     dry_run=True) for permit in (f.permit_no, UNKNOWN_PERMIT)]
    assert _errors(events[0]) == _errors(events[1])


def test_an_insurer_s_upload_is_a_submission_for_the_regulator(app, store, cast, tmp_path):
    s = cast["shared"]
    lead = headers_for(store, cast, "lead")
    new = policy_row(cast, "BD-NEW-1", cast["uninsured"], s.lead, 保单状态="已确认")
    answer = upload(app, lead, "policies", [new], tmp_path)
    assert answer.status_code == 200, answer.json
    assert any("住建局审核确认" in w["message"] for w in answer.json["warnings"])
    with store.connect() as conn:
        status = conn.execute(text("SELECT status FROM policy WHERE policy_no = 'BD-NEW-1'"))
        assert status.scalar_one() == "submitted"
        figures = _one(conn, "SELECT premium_yuan, status FROM policy WHERE id = :p", p=s.id)
        shares = conn.execute(text(
            "SELECT string_agg(o.name || ' ' || (s.share * 100)::text || '%', '；') "
            "FROM policy_share s JOIN organisation o ON o.id = s.insurer_id "
            "WHERE s.policy_id = :p AND NOT s.is_lead"), {"p": s.id}).scalar_one()
        tis = conn.execute(text("SELECT o.name FROM policy po JOIN organisation o "
                                "ON o.id = po.tis_id WHERE po.id = :p"), {"p": s.id}).scalar()
    # the same policy with one figure changed (a blank cell would clear its column)
    changed = policy_row(cast, s.policy_no, s.permit_no, s.lead,
                         **{"保费（万元）": f"{float(figures.premium_yuan) / 10_000 + 1:.2f}",
                            "共保公司及比例": shares, "风险管理机构": tis})
    answer = upload(app, lead, "policies", [changed], tmp_path)
    assert answer.status_code == 200, answer.json
    with store.connect() as conn:
        after = _one(conn, "SELECT premium_yuan, status FROM policy WHERE id = :p", p=s.id)
        step = _one(conn, """SELECT step, from_state, to_state, detail FROM lifecycle_step
            WHERE lifecycle = 'policy' AND entity_id = :p ORDER BY id DESC LIMIT 1""", p=s.id)
    assert figures.status == "confirmed" and after.status == "submitted"
    assert (step.step, step.from_state, step.to_state) == ("import", "confirmed", "submitted")
    premium = step.detail["changes"]["premium"]
    assert float(premium["before"]) == float(figures.premium_yuan)
    assert float(premium["after"]) == float(after.premium_yuan) != float(figures.premium_yuan)


def test_an_insurer_reads_the_claims_and_figures_of_its_own_policies_only(store, cast,
                                                                          second_insurer):
    """Two insurers' policies on one project: each sees the project, its risk events and its
    own policy, never the other's policy, shares or claims (with the owners' names)."""
    s, f = cast["shared"], cast["foreign"]
    second = second_insurer
    with store.connect() as conn, conn.begin():
        for who in ("lead", "co"):
            with as_web(conn, tenant_of(cast, who)):
                policies = set(conn.execute(text(
                    "SELECT id FROM policy WHERE project_id = :p"), {"p": s.project_id}).scalars())
                shares = conn.execute(text("SELECT count(*) FROM policy_share "
                                           "WHERE policy_id = :p"), {"p": second}).scalar()
                secret = conn.execute(text("SELECT count(*) FROM claim WHERE claim_no = "
                                           "'BD-THEIR-CLAIM'")).scalar()
                project = conn.execute(text("SELECT count(*) FROM project WHERE id = :p"),
                                       {"p": s.project_id}).scalar()
                events = conn.execute(text("SELECT count(*) FROM risk_event "
                                           "WHERE project_id = :p"), {"p": s.project_id}).scalar()
            assert policies == {s.id} and shares == 0 and secret == 0, who
            with as_web(conn, Tenant("regulator")):
                all_events = conn.execute(text("SELECT count(*) FROM risk_event "
                                               "WHERE project_id = :p"),
                                          {"p": s.project_id}).scalar()
            assert project == 1 and events == all_events, who
        with as_web(conn, Tenant("insurer", f.lead)):
            theirs_seen = set(conn.execute(text(
                "SELECT id FROM policy WHERE project_id = :p"), {"p": s.project_id}).scalars())
            with pytest.raises(ProgrammingError, match="row-level security"), \
                    conn.begin_nested():
                conn.execute(text("INSERT INTO claim (claim_no, policy_id, unit_no, "
                                  "reporter_name, section, cause, status, reported_on) VALUES "
                                  "('BD-X', :p, '1', 'x', 'structure', 'x', 'reported', "
                                  "'2025-01-01')"), {"p": s.id})
        assert theirs_seen == {second}
        conn.rollback()


def test_a_co_insurer_may_read_but_not_write_the_lead_s_policy(store, cast):
    s = cast["shared"]
    with store.connect() as conn, conn.begin():
        with as_web(conn, tenant_of(cast, "co")):
            assert conn.execute(text("SELECT count(*) FROM policy WHERE id = :p"),
                                {"p": s.id}).scalar() == 1
            changed = conn.execute(text("UPDATE policy SET premium_yuan = 1 WHERE id = :p"),
                                   {"p": s.id}).rowcount
        assert changed == 0
        conn.rollback()


def test_the_web_role_reads_no_password_or_token_hash(store):
    with store.connect() as conn, conn.begin(), as_web(conn, Tenant("admin")):
        for column, table in (("password_hash", "app_user"), ("token_hash", "api_token"),
                              ("*", "app_user"), ("*", "api_token")):
            with pytest.raises(ProgrammingError, match="permission denied"), \
                    conn.begin_nested():
                conn.execute(text(f"SELECT {column} FROM {table}"))  # noqa: S608
    with store.connect() as conn, conn.begin():
        with as_web(conn, Tenant("admin")):
            names = conn.execute(text("SELECT username, role FROM app_user")).all()
            salt = conn.execute(text("SELECT riskmap_password_salt(:u)"),
                                {"u": names[0].username}).scalar()
            wrong = conn.execute(text("SELECT riskmap_sign_in(:u, 'deadbeef')"),
                                 {"u": names[0].username}).scalar()
        conn.rollback()
    assert names and salt.count("$") == 1 and wrong is None  # a salt, never the hash


@pytest.fixture(scope="module")
def second_insurer(store, cast):
    """The shared project with a second insurer's live policy and a claim of its owners
    (written as the store's owner: no upload may do this any more)."""
    s, f = cast["shared"], cast["foreign"]
    with store.begin() as conn:
        second = conn.execute(text("""
            INSERT INTO policy (policy_no, project_id, lead_insurer_id, premium_yuan, rate,
                                sum_insured_yuan, issue_date, status)
            VALUES ('BD-THEIRS', :p, :lead, 2000, 0.01, 200000, '2024-01-01', 'confirmed')
            RETURNING id"""), {"p": s.project_id, "lead": f.lead}).scalar_one()
        conn.execute(text("INSERT INTO policy_share VALUES (:p, :i, true, 1)"),
                     {"p": second, "i": f.lead})
        conn.execute(text("""INSERT INTO claim (claim_no, policy_id, unit_no, reporter_name,
            reporter_phone, section, cause, status, reported_on) VALUES ('BD-THEIR-CLAIM', :p,
            '8-801', '赵业主', '13700000000', 'structure', '裂缝', 'reported', '2025-02-02')"""),
            {"p": second})
    return second


@pytest.mark.parametrize("who", ["lead", "co", "other"])
def test_each_insurer_s_project_page_shows_its_own_policy_and_claims(app, store, cast,
                                                                    second_insurer, who):
    s, f = cast["shared"], cast["foreign"]
    org = f.lead if who == "other" else getattr(s, who)
    web = app.test_client()
    headers = {"Authorization": "Bearer " + _token(store, org)}
    detail = web.get(f"/api/projects/{s.project_id}", headers=headers)
    assert detail.status_code == 200, detail.get_data(as_text=True)
    body = detail.get_data(as_text=True)
    numbers = {p["policy_no"] for p in detail.json["policies"]}
    if who == "other":
        assert numbers == {"BD-THEIRS"} and "BD-THEIR-CLAIM" in body
        assert s.policy_no not in body
    else:
        assert numbers == {s.policy_no}
        assert "BD-THEIRS" not in body and "BD-THEIR-CLAIM" not in body and "赵业主" not in body
    regulator = web.get(f"/api/projects/{s.project_id}", headers={
        "Authorization": "Bearer " + _token(store, None, "regulator")}).json
    assert {p["policy_no"] for p in regulator["policies"]} == {s.policy_no, "BD-THEIRS"}


def _token(store, org: int | None, role: str = "insurer") -> str:
    with store.begin() as conn:
        token = accounts.issue_token(conn, account(store, role, org), "matrix", actor="test")
    return token.removeprefix("Bearer ")


def test_the_web_form_cannot_put_a_policy_on_another_insurer_s_project(store, cast):
    from geo import workflow
    from geo.lifecycle import LifecycleError
    from geo.workflow import Document

    s, f = cast["shared"], cast["foreign"]
    papers = [Document(k, f"{k}.pdf", "application/pdf", b"%PDF")
              for k in ("quote", "coinsurance_agreement", "policy_document")]
    raw = {"policy_no": "BD-FORM-1", "premium_yuan": "150000", "rate_pct": "1.5",
           "sum_insured_yuan": "10000000", "tis": cast["names"][s.tis], "coinsurers": ""}
    lead = Tenant("insurer", s.lead, "t-insurer")
    for permit in (f.permit_no, UNKNOWN_PERMIT):
        with store.connect() as conn, conn.begin(), as_web(conn, lead):
            with pytest.raises(LifecycleError, match="可由本公司投保的项目"):
                workflow.advance(conn, lead, "policy", None, "submit",
                                 {**raw, "permit_no": permit}, papers)
    with store.connect() as conn, conn.begin(), as_web(conn, lead):
        undone = conn.begin_nested()
        done = workflow.advance(conn, lead, "policy", None, "submit",
                                {**raw, "permit_no": cast["uninsured"]}, papers)
        undone.rollback()
    assert done["to"] == "submitted"  # a project nobody insures is open to a submission
