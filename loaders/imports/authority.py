"""Who may import what: the city's staff any kind; an insurer the policies it leads or
co-insures and their claims; a TIS the risk events of the projects whose policy names it.

The command line runs as the store's owner and passes no tenant: it may import anything.
Uploads from the web pass the uploader's tenant. The import runs as the owner (it needs temp
tables and writes many tables), so row-level security does not guard it: these checks do,
inside the import's own transaction. They run twice over the keys the file names: before the
write (a stored row of someone else's that the file would overwrite) and after it, before the
commit (a row the file created or moved out of the uploader's reach). Either refuses the
whole file, so a file that touches one foreign policy writes nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.tenancy import ROLE_ZH, Tenant
from loaders.imports.pipeline import Problem
from loaders.imports.registry import KINDS

EVERY_KIND = tuple(KINDS)
KINDS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "regulator": EVERY_KIND, "admin": EVERY_KIND,
    "insurer": ("policies", "claims"), "tis": ("risk-events",),
}


@dataclass(frozen=True)
class Reach:
    """One rule of reach: SQL giving (key, value) of the rows named by ``:keys`` that lie
    outside ``:org``'s reach, the column a refusal blames and its reason (with {value})."""

    sql: str
    column: str
    reason: str


REACH: dict[tuple[str, str], tuple[Reach, ...]] = {
    ("insurer", "policies"): (Reach(
        "SELECT p.policy_no, p.policy_no FROM policy p WHERE p.policy_no = ANY(:keys) "
        "AND p.lead_insurer_id <> :org AND NOT EXISTS (SELECT 1 FROM policy_share s "
        "WHERE s.policy_id = p.id AND s.insurer_id = :org)", "policy_no",
        "保单「{value}」不是本公司主承保或共保的保单，整个文件未导入 — policy {value} is not "
        "one your company leads or co-insures; nothing was imported"),),
    ("insurer", "claims"): (Reach(
        "SELECT c.claim_no, p.policy_no FROM claim c JOIN policy p ON p.id = c.policy_id "
        "WHERE c.claim_no = ANY(:keys) AND p.lead_insurer_id <> :org AND NOT EXISTS "
        "(SELECT 1 FROM policy_share s WHERE s.policy_id = p.id AND s.insurer_id = :org)",
        "policy_no",
        "案件所属保单「{value}」不是本公司主承保或共保的保单，整个文件未导入 — the claim's "
        "policy {value} is not one your company leads or co-insures; nothing was imported"),),
    ("tis", "risk-events"): (Reach(
        "SELECT e.event_no, pr.permit_no FROM risk_event e JOIN project pr "
        "ON pr.id = e.project_id WHERE e.event_no = ANY(:keys) AND NOT EXISTS "
        "(SELECT 1 FROM policy m WHERE m.project_id = pr.id AND m.tis_id = :org)",
        "permit_no",
        "项目「{value}」的保单未指定本机构为风险管理机构，整个文件未导入 — no policy of project "
        "{value} names your agency as its TIS; nothing was imported"), Reach(
        "SELECT e.event_no, o.name FROM risk_event e JOIN inspection i ON i.id = e.inspection_id "
        "JOIN organisation o ON o.id = i.tis_id WHERE e.event_no = ANY(:keys) "
        "AND i.tis_id <> :org", "tis",
        "事件关联的是其他风险管理机构「{value}」的检查，整个文件未导入 — the event belongs to "
        "an inspection of another TIS ({value}); nothing was imported")),
}


def kinds_for(tenant: Tenant | None) -> tuple[str, ...]:
    """The kinds ``tenant`` may import (every kind for the command line's owner)."""
    if tenant is None:
        return EVERY_KIND
    return KINDS_BY_ROLE.get(tenant.role, ())


def kind_refused(tenant: Tenant, kind: str) -> Problem:
    """The file-level problem of an uploader who may not import this kind at all."""
    role = ROLE_ZH.get(tenant.role, tenant.role)
    allowed = "、".join(KINDS[k].title for k in kinds_for(tenant)) or "无"
    return Problem(None, "", "", f"「{role}」账户无权导入{KINDS[kind].title}（可导入：{allowed}）"
                                 f" — a {tenant.role} account may not import {kind}")


def outside_reach(conn: Connection, tenant: Tenant | None, kind: str,
                  records: list[dict]) -> list[Problem]:
    """Rows of the file whose stored counterpart lies outside ``tenant``'s reach, each as a
    problem naming its row, the blamed column and the offending key; none for full reach."""
    rules = () if tenant is None else REACH.get((tenant.role, kind), ())
    key = KINDS[kind].key
    rows = {r[key]: r for r in records if r.get(key) is not None}
    if not rules or not rows:
        return []
    problems = []
    for rule in rules:
        found = conn.execute(text(rule.sql), {"keys": sorted(rows), "org": tenant.organisation_id})
        for file_key, value in found.all():
            problems.append(_problem(kind, rule, rows.get(file_key), value))
    return sorted(problems, key=lambda p: p.row or 0)


def _problem(kind: str, rule: Reach, record: dict | None, value) -> Problem:
    zh = next(c.zh for c in KINDS[kind].columns if c.name == rule.column)
    header = (record or {}).get("_headers", {}).get(rule.column, zh)
    return Problem(record and record["_row"], header, str(value),
                   rule.reason.format(value=value))
