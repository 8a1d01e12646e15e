"""The four lifecycles, walked systematically: from every state, every step. The legal ones
succeed for the right role and organisation and are recorded (step and audit log); every other
one is refused with a message that says where the record is and what may be done from there.

Each step runs as the web service runs it: as ``riskmap_web`` with the tenant set, so row
security decides what another organisation can even find. Everything is rolled back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from conftest import as_web
from geo import claims, clock, store, workflow
from geo.lifecycle import LIFECYCLES, ROLE_LABELS, LifecycleError
from geo.tenancy import Tenant, set_tenant
from geo.workflow import Document

TODAY = dt.date(2026, 6, 30)
FILED = dt.date(2026, 6, 20)
# the platform's own steps (the return-visit task) run as the store's owner
SYSTEM = SimpleNamespace(role="system", organisation_id=None, username="platform", user_id=None)
TRIED_ROLES = ("regulator", "insurer", "tis", "contractor", "developer", "public")


@pytest.fixture(autouse=True)
def on_the_demos_day(monkeypatch):
    """These walks act on the demo's day (its records end there), so the clock is pinned to
    it; test_time.py checks that live actions otherwise take the real day."""
    monkeypatch.setattr(clock, "real_today", lambda: TODAY)


@dataclass(frozen=True)
class Cast:
    """One insured project and the organisations around it (and strangers to it)."""
    project: int
    policy: int
    lead: int
    co: int
    stranger: int
    tis: int
    other_tis: int
    contractor: int
    other_contractor: int
    developer: int

    def tenant(self, role: str, org: str = "own") -> Tenant:
        ids = {"insurer": {"own": self.lead, "co": self.co, "stranger": self.stranger},
               "tis": {"own": self.tis, "stranger": self.other_tis},
               "contractor": {"own": self.contractor, "stranger": self.other_contractor},
               "developer": {"own": self.developer}}
        if role == "system":
            return SYSTEM
        org_id = ids[role][org] if role in ids else None
        return Tenant(role, org_id, f"t-{role}-{org}")


CAST_SQL = """
SELECT p.id, po.id, po.lead_insurer_id,
       (SELECT min(insurer_id) FROM policy_share WHERE policy_id = po.id AND NOT is_lead),
       (SELECT min(o.id) FROM organisation o WHERE o.kind = 'insurer' AND NOT EXISTS (
          SELECT 1 FROM policy_share s JOIN policy x ON x.id = s.policy_id
          WHERE x.project_id = p.id AND s.insurer_id = o.id)),
       po.tis_id,
       (SELECT min(o.id) FROM organisation o WHERE o.kind = 'tis' AND NOT EXISTS (
          SELECT 1 FROM policy x WHERE x.project_id = p.id AND x.tis_id = o.id)),
       p.contractor_id,
       (SELECT min(o.id) FROM organisation o WHERE o.kind = 'contractor'
          AND o.id <> p.contractor_id),
       p.developer_id
FROM project p JOIN policy po ON po.project_id = p.id
WHERE p.stage = 'delivered' AND po.status = 'confirmed' AND p.completion_date < '2024-01-01'
  AND po.tis_id IS NOT NULL AND p.contractor_id IS NOT NULL
  AND (SELECT count(*) FROM policy_share WHERE policy_id = po.id) > 1
  AND (SELECT count(*) FROM policy WHERE project_id = p.id) = 1
ORDER BY p.id LIMIT 1"""


def cast_of(conn) -> Cast:
    return Cast(*conn.execute(text(CAST_SQL)).one())




def act(conn, tenant, lifecycle: str, entity: int | None, step: str, raw: dict | None = None,
        documents=()) -> dict:
    with as_web(conn, tenant):
        return workflow.advance(conn, tenant, lifecycle, entity, step, raw or {}, documents)


@contextlib.contextmanager
def savepoint(conn):
    """A block whose changes are undone, whatever happens in it."""
    nested = conn.begin_nested()
    try:
        yield
    finally:
        nested.rollback()


def doc(kind: str, content: bytes | None = None) -> Document:
    return Document(kind, f"{kind}.pdf", "application/pdf", content or f"%PDF {kind}".encode())


def status(conn, lifecycle: str, entity: int) -> str:
    return conn.execute(text(f"SELECT status FROM {lifecycle} WHERE id = :id"),  # noqa: S608
                        {"id": entity}).scalar_one()


def raw_for(cast: Cast, lifecycle: str, step: str) -> dict:
    """Valid values for each step that needs any."""
    return {
        ("claim", "file"): {"policy_id": cast.policy, "unit_no": "3-1-502",
                            "section": "structure", "cause": "卫生间楼板渗漏",
                            "reporter_name": "王女士", "reporter_phone": "13800000000",
                            "is_emergency": "on", "on": FILED.isoformat()},
        ("claim", "reject"): {"exclusion": "owner_fault", "reason": "业主自行改动管线"},
        ("claim", "settle"): {"paid_amount_yuan": "12000"},
        ("claim", "open_dispute"): {"appraiser": "鉴定中心", "reason": "对核定有异议"},
        ("claim", "record_appraisal"): {"covered": "", "cost_yuan": "3000"},
        ("claim", "record_subrogation"): {"against": "防水分包单位", "amount_yuan": "8000"},
        ("policy", "return"): {"reason": "缺少共保协议"},
        ("policy", "resubmit"): {"note": "补充共保协议"},
        ("policy", "change"): {"note": "调整保险金额"},
        ("policy", "cancel"): {"reason": "项目终止"},
        ("policy", "terminate"): {"reason": "重大缺陷未整改"},
        ("risk_management", "submit_plan"): {"project_id": cast.project, "summary": "防水"},
        ("risk_management", "resubmit_plan"): {"summary": "补充地下室防水"},
        ("risk_management", "return_plan"): {"reason": "检查频次不足"},
        ("risk_management", "inspect"): {"stage": "completed", "findings": "外墙渗水"},
        ("risk_management", "submit_process_report"): {"summary": "过程评估"},
        ("risk_management", "submit_final"): {"summary": "无重大缺陷"},
        ("risk_management", "approve_final"): {"rating": "4", "comment": "及时"},
        ("risk_management", "end_cover"): {"reason": "重大缺陷未整改"},
        ("risk_management", "submit_return_visit"): {"summary": "业主无投诉"},
        ("risk_event", "request_rectification"): {"due_on": "2026-07-31"},
        ("risk_event", "submit_evidence"): {"note": "已返工"},
        ("risk_event", "urge"): {"note": "请尽快整改"},
    }.get((lifecycle, step), {})


def take(conn, cast: Cast, tenant, lifecycle: str, entity: int | None, step: str,
         raw: dict | None = None, documents=None) -> dict:
    """Take a step with valid values and the documents it declares, as ``tenant``; the
    public files through its own page's path."""
    raw = {**raw_for(cast, lifecycle, step), **(raw or {})}
    if documents is None:
        documents = [doc(k) for k in LIFECYCLES[lifecycle].get(step).documents]
    if tenant.role == "public" and step == "file":
        with as_web(conn, tenant):
            number, _, _ = claims.file_public_claim(conn, cast.project, raw, tenant)
        claim = conn.execute(text("SELECT id FROM claim WHERE claim_no = :n"), {"n": number})
        return {"id": claim.scalar_one(), "on": TODAY.isoformat()}
    return act(conn, tenant, lifecycle, entity, step, raw, documents)


# Each chain walks legal steps; each of its prefixes brings a fresh record to a state.
CHAINS = {
    "claim": ("file survey accept agree settle close", "file survey reject"),
    "policy": ("change return", "cancel", "terminate"),
    "risk_management": ("submit_plan return_plan", "submit_plan approve_plan submit_final "
                        "approve_final open_return_visit submit_return_visit approve_return_visit",
                        "submit_plan approve_plan submit_final end_cover"),
    "risk_event": ("request_rectification close",),
}
ORIGIN = {"policy": "confirmed", "risk_event": "open"}
# what a legal step needs first (an appraisal records the outcome of an open dispute)
PREPARE = {("claim", "record_appraisal"): ("open_dispute",)}


def path_to(lifecycle: str, state: str) -> list[str]:
    if state == ORIGIN.get(lifecycle):
        return []
    machine = LIFECYCLES[lifecycle]
    for chain in CHAINS[lifecycle]:
        steps = chain.split()
        for i, step in enumerate(steps):
            if machine.get(step).target == state:
                return steps[:i + 1]
    raise AssertionError(f"no path to {lifecycle} {state}")


def actor(cast: Cast, lifecycle: str, step: str):
    return cast.tenant(next(r for r in LIFECYCLES[lifecycle].get(step).roles if r != "public"))


def new_event(conn, cast: Cast) -> int:
    return conn.execute(text("""
        INSERT INTO risk_event (event_no, project_id, category, severity, status, found_on,
                                description, location_in_building)
        VALUES ('RE-TEST-' || nextval('risk_event_id_seq'), :p, 'waterproofing', 'major',
                'open', '2026-06-01', '屋面渗漏', '3号楼屋面') RETURNING id"""),
        {"p": cast.project}).scalar_one()


def bring(conn, cast: Cast, lifecycle: str, state: str | None) -> int | None:
    """A fresh record of ``lifecycle`` in ``state``, by its legal path (claims dated from
    FILED on, a day a step)."""
    if lifecycle == "risk_management":   # one per project: make way for a fresh one
        conn.execute(text("DELETE FROM risk_management WHERE project_id = :p"),
                     {"p": cast.project})
    entity = new_event(conn, cast) if lifecycle == "risk_event" else \
        {"policy": cast.policy}.get(lifecycle)
    if state is None:
        return entity
    for day, step in enumerate(path_to(lifecycle, state)):
        on = {"on": (FILED + dt.timedelta(days=day)).isoformat()} if lifecycle == "claim" else {}
        entity = take(conn, cast, actor(cast, lifecycle, step), lifecycle, entity, step, on)["id"]
    assert status(conn, lifecycle, entity) == state
    return entity


def recorded(conn, lifecycle: str, entity: int, step: str, states: tuple, tenant,
             on: dt.date) -> None:
    """The step's row (from, to, day, who) and its line in the audit log."""
    row = conn.execute(text(
        "SELECT step, from_state, to_state, on_date, actor, role FROM lifecycle_step "
        "WHERE lifecycle = :lc AND entity_id = :id ORDER BY id DESC LIMIT 1"),
        {"lc": lifecycle, "id": entity}).one()
    assert tuple(row) == (step, *states, on, tenant.username, tenant.role)
    audit = conn.execute(text("SELECT actor FROM audit_log WHERE action = :a AND target = :t"),
                         {"a": f"{lifecycle}.{step}", "t": f"{lifecycle}:{entity}"}).scalars()
    assert list(audit) == [tenant.username]


def refused(conn, cast: Cast, tenant, lifecycle: str, entity, state, step: str) -> str:
    """Take ``step`` as ``tenant`` expecting a refusal that changes nothing; the message."""
    with savepoint(conn):
        with pytest.raises(LifecycleError) as refusal:
            take(conn, cast, tenant, lifecycle, entity, step)
        if entity is not None:
            assert status(conn, lifecycle, entity) == state
    return str(refusal.value)


def wrong_role_refused(conn, cast, machine, entity, state, t) -> None:
    for role in TRIED_ROLES:
        if role in t.roles:
            continue
        message = refused(conn, cast, cast.tenant(role), machine.name, entity, state, t.name)
        if role == "public" and entity is not None:
            assert "无权查看" in message, message       # the public sees no record
        else:
            labels = "、".join(ROLE_LABELS[r] for r in t.roles)
            assert f"“{t.label}”须由{labels}办理" in message, (role, message)


def wrong_organisation_refused(conn, cast, machine, entity, state, t) -> None:
    others = {"insurer": ("co", "stranger"), "tis": ("stranger",), "contractor": ("stranger",)}
    for role in t.roles:
        for org in others.get(role, ()):
            message = refused(conn, cast, cast.tenant(role, org), machine.name, entity, state,
                              t.name)
            # a stranger cannot even find the record; a co-insurer sees it but is not lead
            words = "无权查看" if org == "stranger" and entity is not None else "本单位不是"
            assert words in message, (role, org, message)


def legal_step_taken(conn, cast, machine, entity, state, t) -> None:
    for role in t.roles:
        tenant = cast.tenant(role)
        with savepoint(conn):
            for step in PREPARE.get((machine.name, t.name), ()):
                take(conn, cast, actor(cast, machine.name, step), machine.name, entity, step)
            done = take(conn, cast, tenant, machine.name, entity, t.name)
            target = t.target or state
            assert status(conn, machine.name, done["id"]) == target
            recorded(conn, machine.name, done["id"], t.name, (state, target), tenant,
                     dt.date.fromisoformat(done["on"]))
            assert done["on"] == (FILED if t.name == "file" and role != "public"
                                  else TODAY).isoformat()


def illegal_step_refused(conn, cast, machine, entity, state, t) -> None:
    role = next(r for r in t.roles if r != "public")
    message = refused(conn, cast, cast.tenant(role), machine.name, entity, state, t.name)
    here = machine.states[state] if state else "新建"
    assert f"{machine.label}当前为“{here}”，不能“{t.label}”" in message, message
    allowed = machine.allowed(state, role)
    listed = "、".join(a.label for a in allowed) or "无"
    assert f"可以：{listed}。" in message, message


def cases() -> list:
    out = []
    for machine in LIFECYCLES.values():
        # a policy's submission and a risk event's report have tests of their own (below):
        # they create a record from a project's facts rather than walk one
        creatable = machine.name in ("claim", "risk_management")
        out += [(machine.name, s) for s in ([None] if creatable else []) + list(machine.states)]
    return out


@pytest.mark.parametrize(("lifecycle", "state"), cases(), ids=lambda v: str(v))
def test_every_step_from_every_state(rollback, lifecycle, state):
    cast = cast_of(rollback)
    machine = LIFECYCLES[lifecycle]
    entity = bring(rollback, cast, lifecycle, state)
    for t in machine.transitions:
        if (state in t.sources) if state else not t.sources:
            wrong_role_refused(rollback, cast, machine, entity, state, t)
            wrong_organisation_refused(rollback, cast, machine, entity, state, t)
            legal_step_taken(rollback, cast, machine, entity, state, t)
        else:
            illegal_step_refused(rollback, cast, machine, entity, state, t)


def test_a_step_needing_documents_is_refused_without_them_and_keeps_their_hashes(rollback):
    cast = cast_of(rollback)
    bring(rollback, cast, "risk_management", None)
    tis = cast.tenant("tis")
    with savepoint(rollback), pytest.raises(LifecycleError) as refusal:
        take(rollback, cast, tis, "risk_management", None, "submit_plan",
             documents=[doc("risk_briefing")])
    assert "须上传：风险检查工作计划" in str(refusal.value)
    papers = [doc("risk_briefing", b"briefing \x00\xff" * 100), doc("inspection_plan")]
    done = take(rollback, cast, tis, "risk_management", None, "submit_plan", documents=papers)
    stored = rollback.execute(text(
        "SELECT kind, sha256, size_bytes, content FROM document WHERE step_id = :s ORDER BY kind"),
        {"s": done["step_id"]}).all()
    papers.sort(key=lambda d: d.kind)
    assert [(k, h, n, bytes(c)) for k, h, n, c in stored] == [
        (d.kind, hashlib.sha256(d.content).hexdigest(), len(d.content), d.content)
        for d in papers]


@pytest.mark.parametrize("step", ["change", "cancel"])
def test_purchasers_consent_is_needed_only_once_units_are_sold(rollback, step):
    cast = cast_of(rollback)
    lead = cast.tenant("insurer")
    sold = text("UPDATE project SET units_sold = :n WHERE id = :p")
    rollback.execute(sold, {"n": 0, "p": cast.project})
    with savepoint(rollback):      # nothing sold: no consent asked
        take(rollback, cast, lead, "policy", cast.policy, step, documents=[])
    rollback.execute(sold, {"n": 12, "p": cast.project})
    with savepoint(rollback), pytest.raises(LifecycleError) as refusal:
        take(rollback, cast, lead, "policy", cast.policy, step, documents=[])
    assert "全部买受人书面同意书" in str(refusal.value)
    assert status(rollback, "policy", cast.policy) == "confirmed"
    consent = doc("purchaser_consent", "全体买受人同意书".encode())
    done = take(rollback, cast, lead, "policy", cast.policy, step, documents=[consent])
    assert status(rollback, "policy", cast.policy) == done["to"]
    kept = rollback.execute(text("SELECT sha256 FROM document WHERE step_id = :s"),
                            {"s": done["step_id"]}).scalar_one()
    assert kept == hashlib.sha256(consent.content).hexdigest()


def test_a_step_may_not_be_dated_in_the_future_or_before_the_previous_step(rollback):
    cast = cast_of(rollback)
    claim = bring(rollback, cast, "claim", "surveyed")      # surveyed the day after FILED
    lead = cast.tenant("insurer")
    for day, words in ((TODAY + dt.timedelta(days=1), "晚于今天"), (FILED, "早于上一步")):
        with savepoint(rollback), pytest.raises(LifecycleError) as refusal:
            take(rollback, cast, lead, "claim", claim, "accept", {"on": day.isoformat()})
        assert words in str(refusal.value)
    take(rollback, cast, lead, "claim", claim, "accept", {"on": "2026-06-21"})
    assert status(rollback, "claim", claim) == "accepted"


def test_the_web_login_sees_what_the_emulated_one_does(kunming):
    """The same refusals through the real ``riskmap_web`` login, on a demo claim."""
    with kunming.connect() as conn:
        cast = cast_of(conn)
    web = store.make_engine(kunming.url.set(username="riskmap_web"))
    try:
        with web.connect() as conn, conn.begin():
            set_tenant(conn, cast.tenant("insurer"))
            claim = workflow.advance(conn, cast.tenant("insurer"), "claim", None, "file",
                                     raw_for(cast, "claim", "file"))["id"]
            for org, words in (("stranger", "无权查看"), ("co", "本单位不是")):
                tenant = cast.tenant("insurer", org)
                set_tenant(conn, tenant)
                with pytest.raises(LifecycleError, match=words):
                    workflow.advance(conn, tenant, "claim", claim, "survey", {})
            set_tenant(conn, cast.tenant("insurer"))
            done = workflow.advance(conn, cast.tenant("insurer"), "claim", claim, "survey", {})
            assert done["to"] == "surveyed"
            conn.rollback()
    finally:
        web.dispose()


def submission(cast: Cast, conn, **changes) -> dict:
    co, tis = conn.execute(text("SELECT (SELECT name FROM organisation WHERE id = :co), "
                                "(SELECT name FROM organisation WHERE id = :tis)"),
                           {"co": cast.co, "tis": cast.tis}).one()
    permit = conn.execute(text("SELECT permit_no FROM project WHERE id = :p"),
                          {"p": cast.project}).scalar_one()
    return {"policy_no": "IDI-TEST-SUBMIT-1", "permit_no": permit, "premium_yuan": "150000",
            "rate_pct": "1.5", "sum_insured_yuan": "10000000", "tis": tis,
            "coinsurers": f"{co}:30%", **changes}


POLICY_PAPERS = ("quote", "coinsurance_agreement", "policy_document")


def test_an_insurer_submits_a_policy_with_its_papers_and_the_regulator_confirms_it(rollback):
    cast = cast_of(rollback)
    lead = cast.tenant("insurer")
    raw = submission(cast, rollback)
    with savepoint(rollback), pytest.raises(LifecycleError, match="须上传"):
        act(rollback, lead, "policy", None, "submit", raw, [doc("quote")])
    for role in ("tis", "regulator", "developer"):
        with savepoint(rollback), pytest.raises(LifecycleError, match="须由保险公司办理"):
            act(rollback, cast.tenant(role), "policy", None, "submit", raw,
                [doc(k) for k in POLICY_PAPERS])
    with savepoint(rollback), pytest.raises(LifecycleError, match="没有名为"):
        act(rollback, lead, "policy", None, "submit", {**raw, "coinsurers": "无此公司:10%"},
            [doc(k) for k in POLICY_PAPERS])
    done = act(rollback, lead, "policy", None, "submit", raw, [doc(k) for k in POLICY_PAPERS])
    assert (done["from"], done["to"]) == (None, "submitted")
    shares = dict(rollback.execute(text("SELECT insurer_id, CAST(share AS float8) "
                                        "FROM policy_share WHERE policy_id = :p"),
                                   {"p": done["id"]}).all())
    assert shares == {cast.lead: pytest.approx(0.7), cast.co: pytest.approx(0.3)}
    sections = rollback.execute(text("SELECT count(*) FROM coverage_section WHERE policy_id = "
                                     ":p AND starts_on IS NOT NULL"), {"p": done["id"]}).scalar()
    assert sections == 2  # the project is accepted: its basic cover is dated
    confirmed = act(rollback, cast.tenant("regulator"), "policy", done["id"], "confirm")
    assert confirmed["to"] == "confirmed"


def test_a_tis_reports_a_risk_event_on_a_project_it_is_inspecting(rollback):
    cast = cast_of(rollback)
    bring(rollback, cast, "risk_management", "inspecting")
    raw = {"project_id": cast.project, "category": "waterproofing", "severity": "severe",
           "location_in_building": "2号楼屋面", "description": "屋面渗漏"}
    with savepoint(rollback), pytest.raises(LifecycleError, match="本机构正在施工阶段检查"):
        act(rollback, cast.tenant("tis", "stranger"), "risk_event", None, "report", raw)
    with savepoint(rollback), pytest.raises(LifecycleError, match="须由风险管理机构办理"):
        act(rollback, cast.tenant("contractor"), "risk_event", None, "report", raw)
    done = act(rollback, cast.tenant("tis"), "risk_event", None, "report", raw)
    event = rollback.execute(text("SELECT status, severity, project_id FROM risk_event "
                                  "WHERE id = :id"), {"id": done["id"]}).one()
    assert tuple(event) == ("open", "severe", cast.project)
    act(rollback, cast.tenant("tis"), "risk_event", done["id"], "request_rectification",
        {"due_on": "2026-07-31"})
