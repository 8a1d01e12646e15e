"""Who may import what, and what an upload may decide.

The city's staff (and the command line, which passes no tenant) import any kind, staff within
their jurisdiction (`OUTSIDE_AREA`). An insurer
imports the policies it leads and their claims; a TIS the risk events of the projects whose
policy names it. The import runs as the store's owner (it needs temp tables and writes many
tables), so row-level security does not guard it: these rules do, inside the import's own
transaction, in three places.

- **Lookups in reach.** The checks of a kind find only the rows the uploader reaches
  (`Context.reach_org`): an insurer's policy file finds the projects it may insure (its own,
  and those no other insurer leads a live policy on), its claim file the policies it leads; a
  TIS's event file the projects whose policy names it. Anything else gets the answer an
  unknown key gets, so a dry run tells nothing about rows outside the uploader's reach.
- **Stored rows in reach** (`outside_reach`), before the write and again after it: a key of
  the file that names a stored row of someone else's (another insurer's policy number, a
  claim on a policy the uploader does not lead, another TIS's event) refuses the whole file.
  A co-insurer is told it is one; anyone else learns only that the number is taken.
- **Uploads are submissions** (`submissions`): an insurer names itself as lead, never another
  insurer; its new policies enter the policy review as submitted, and a policy it changes goes
  back to the regulator (`resubmit_changed`), exactly as the web form's steps do. Cancelling
  and terminating need their papers, so they are steps of the policy's page, not of a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.jurisdiction import code_prefix
from geo.tenancy import CITY_ROLES, ROLE_ZH, Tenant
from loaders.imports.pipeline import Checked, Problem
from loaders.imports.registry import KINDS
from loaders.imports.sql import read_sql

EVERY_KIND = tuple(KINDS)
KINDS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "regulator": EVERY_KIND, "admin": EVERY_KIND,
    "insurer": ("policies", "claims"), "tis": ("risk-events",),
}
# statuses an insurer's file may name for a policy: it submits, the regulator decides
SUBMITTABLE = ("submitted", "confirmed")
ENDED = ("cancelled", "terminated")


@dataclass(frozen=True)
class Reach:
    """One rule of reach: SQL giving (key, is_partner) for the stored rows named by ``:keys``
    that lie outside ``:org``'s reach (is_partner: the uploader may read the row, as a
    co-insurer reads its lead's policy), the column a refusal blames, and its reasons."""

    sql: str
    column: str
    partner: str
    stranger: str


_NOT_LED = ("SELECT p.policy_no, EXISTS (SELECT 1 FROM policy_share s WHERE s.policy_id = p.id "
            "AND s.insurer_id = :org) FROM policy p WHERE p.policy_no = ANY(:keys) "
            "AND p.lead_insurer_id <> :org")
REACH: dict[tuple[str, str], Reach] = {
    ("insurer", "policies"): Reach(
        _NOT_LED, "policy_no",
        "本公司是该保单的共保公司，只有主承保公司可以导入或修改它，整个文件未导入 — your "
        "company co-insures this policy; only its lead may import or change it",
        "该保单号已被其他公司的保单使用，整个文件未导入 — this policy number is taken by a "
        "policy your company does not lead; nothing was imported"),
    ("insurer", "claims"): Reach(
        "SELECT c.claim_no, EXISTS (SELECT 1 FROM policy_share s WHERE s.policy_id = p.id "
        "AND s.insurer_id = :org) FROM claim c JOIN policy p ON p.id = c.policy_id "
        "WHERE c.claim_no = ANY(:keys) AND p.lead_insurer_id <> :org", "claim_no",
        "该案件属于本公司共保的保单，由主承保公司办理和导入，整个文件未导入 — the claim is on "
        "a policy your company co-insures; its lead handles and imports it",
        "该案件号已被其他公司的案件使用，整个文件未导入 — this claim number is taken by "
        "another company's claim; nothing was imported"),
    ("tis", "risk-events"): Reach(
        "SELECT e.event_no, false FROM risk_event e LEFT JOIN inspection i "
        "ON i.id = e.inspection_id WHERE e.event_no = ANY(:keys) AND (i.tis_id <> :org "
        "OR NOT EXISTS (SELECT 1 FROM policy m WHERE m.project_id = e.project_id "
        "AND m.tis_id = :org))", "event_no", "",
        "该事件编号已被其他机构的风险事件使用，整个文件未导入 — this event number is taken "
        "by another agency's risk event; nothing was imported"),
}


# The city's staff of a jurisdiction short of the store (a city's regulator in a province's
# store): a key of the file naming a stored row of a project outside the jurisdiction refuses
# the whole file, before the write and after it (a project moved out, a policy put on another
# city's project). Organisations are one register for every city: one that also works outside
# the jurisdiction is changed only by staff whose jurisdiction holds all its work.
_ORG_OUTSIDE = (
    "SELECT o.name, false FROM organisation o WHERE o.name = ANY(:keys) AND ("
    "EXISTS (SELECT 1 FROM project p WHERE o.id IN (p.developer_id, p.contractor_id, "
    "p.designer_id, p.surveyor_id, p.supervisor_id) "
    "AND NOT starts_with(p.district_code, :prefix)) "
    "OR EXISTS (SELECT 1 FROM policy po JOIN project p ON p.id = po.project_id "
    "LEFT JOIN policy_share s ON s.policy_id = po.id "
    "LEFT JOIN reinsurance_share r ON r.policy_id = po.id "
    "WHERE o.id IN (po.lead_insurer_id, po.tis_id, s.insurer_id, r.reinsurer_id) "
    "AND NOT starts_with(p.district_code, :prefix)) "
    "OR EXISTS (SELECT 1 FROM claim c JOIN policy po ON po.id = c.policy_id "
    "JOIN project p ON p.id = po.project_id WHERE c.repairer_id = o.id "
    "AND NOT starts_with(p.district_code, :prefix)))")
OUTSIDE_AREA = {
    "projects": "SELECT p.permit_no, false FROM project p WHERE p.permit_no = ANY(:keys) "
                "AND NOT starts_with(p.district_code, :prefix)",
    "policies": "SELECT po.policy_no, false FROM policy po JOIN project p "
                "ON p.id = po.project_id WHERE po.policy_no = ANY(:keys) "
                "AND NOT starts_with(p.district_code, :prefix)",
    "claims": "SELECT c.claim_no, false FROM claim c JOIN policy po ON po.id = c.policy_id "
              "JOIN project p ON p.id = po.project_id WHERE c.claim_no = ANY(:keys) "
              "AND NOT starts_with(p.district_code, :prefix)",
    "risk-events": "SELECT e.event_no, false FROM risk_event e JOIN project p "
                   "ON p.id = e.project_id WHERE e.event_no = ANY(:keys) "
                   "AND NOT starts_with(p.district_code, :prefix)",
    "organisations": _ORG_OUTSIDE,
}
OUTSIDE_AREA_REASON = ("该记录属于您辖区以外的项目（或该单位也在辖区以外承担业务），"
                       "整个文件未导入 — this row belongs to a project outside your "
                       "jurisdiction (or the organisation also works outside it); nothing "
                       "was imported")


def _staff_prefix(tenant: Tenant | None) -> str | None:
    """The district-code prefix an uploading staff member's jurisdiction covers; None for
    the command line, tenants of an organisation, and the nation."""
    if tenant is None or tenant.role not in CITY_ROLES or not tenant.jurisdiction:
        return None
    return code_prefix(tenant.jurisdiction) or None


def kinds_for(tenant: Tenant | None) -> tuple[str, ...]:
    """The kinds ``tenant`` may import (every kind for the command line's owner)."""
    if tenant is None:
        return EVERY_KIND
    return KINDS_BY_ROLE.get(tenant.role, ())


def reach_org(tenant: Tenant | None, kind: str) -> int | None:
    """The organisation whose reach limits ``tenant``'s file of ``kind``; None for full reach."""
    if tenant is None or (tenant.role, kind) not in REACH:
        return None
    return tenant.organisation_id


def kind_refused(tenant: Tenant, kind: str) -> Problem:
    """The file-level problem of an uploader who may not import this kind at all."""
    role = ROLE_ZH.get(tenant.role, tenant.role)
    allowed = "、".join(KINDS[k].title for k in kinds_for(tenant)) or "无"
    return Problem(None, "", "", f"「{role}」账户无权导入{KINDS[kind].title}（可导入：{allowed}）"
                                 f" — a {tenant.role} account may not import {kind}")


def outside_reach(conn: Connection, tenant: Tenant | None, kind: str,
                  records: list[dict]) -> list[Problem]:
    """Rows of the file whose stored counterpart lies outside ``tenant``'s reach, each as a
    problem naming its row, the file's key column and the key; none for full reach."""
    org, prefix = reach_org(tenant, kind), _staff_prefix(tenant)
    key = KINDS[kind].key
    rows = {r[key]: r for r in records if r.get(key) is not None}
    if prefix is not None and rows:
        found = conn.execute(text(OUTSIDE_AREA[kind]),  # the code's own SQL, values bound
                             {"keys": sorted(rows), "prefix": prefix}).all()
        return sorted((_problem(kind, key, rows[k], OUTSIDE_AREA_REASON) for k, _ in found),
                      key=lambda p: p.row or 0)
    if org is None or not rows:
        return []
    rule = REACH[(tenant.role, kind)]
    found = conn.execute(text(rule.sql), {"keys": sorted(rows), "org": org}).all()
    problems = [_problem(kind, rule.column, rows[k], rule.partner if partner else rule.stranger)
                for k, partner in found]
    return sorted(problems, key=lambda p: p.row or 0)


def _problem(kind: str, column: str, record: dict, reason: str) -> Problem:
    zh = next(c.zh for c in KINDS[kind].columns if c.name == column)
    return Problem(record["_row"], record["_headers"].get(column, zh), str(record[column]),
                   reason)


def submissions(conn: Connection, tenant: Tenant | None, kind: str, checked: Checked) -> None:
    """What an insurer's or a TIS's rows may say of who they are and what is decided: an
    insurer names itself as lead, submits new policies and leaves decisions to the regulator
    (stored ones keep their status until a change sends them back, `resubmit_changed`); a TIS
    reports as itself."""
    if reach_org(tenant, kind) is None:
        return
    own = conn.execute(text("SELECT name, short_name FROM organisation WHERE id = :o"),
                       {"o": tenant.organisation_id}).one()
    records = checked.valid_records()
    if kind == "risk-events":
        for record in records:
            if record.get("tis") not in (None, own.name, own.short_name):
                checked.reject(record, record["_headers"]["tis"], record["tis"],
                               f"风险管理机构须为本机构「{own.name}」 — a TIS reports its own "
                               "findings only")
        return
    if kind != "policies":
        return
    stored = dict(conn.execute(text(
        "SELECT policy_no, status FROM policy WHERE policy_no = ANY(:n) AND lead_insurer_id = :o"),
        {"n": [r["policy_no"] for r in records], "o": tenant.organisation_id}).all())
    for record in records:
        _as_submission(checked, record, own, stored.get(record["policy_no"]))


def _as_submission(checked: Checked, record: dict, own, stored: str | None) -> None:
    headers = record["_headers"]
    if record.get("lead_insurer") not in (own.name, own.short_name):
        checked.reject(record, headers["lead_insurer"], record.get("lead_insurer"),
                       f"主承保公司须为本公司「{own.name}」：保险公司只能导入本公司主承保的保单 — "
                       "the lead insurer must be your own company")
        return
    asked = record.get("_asked_status")
    if stored in ENDED:
        checked.reject(record, headers["policy_no"], record["policy_no"],
                       "该保单已注销或终止，不能再通过导入修改 — the policy has ended and "
                       "cannot be changed by a file")
    elif asked is not None and asked not in SUBMITTABLE:
        checked.reject(record, headers["status"], asked,
                       "导入只能提交保单供住建局审核；解除合同、终止保险请在保单页面办理并上传"
                       "相关文件 — a file submits policies; cancelling or terminating is a "
                       "step on the policy's page, with its papers")
    else:
        if asked == "confirmed" and stored != "confirmed":
            checked.warn(record, headers["status"], asked,
                         "保单由住建局审核确认，导入后状态为“待确认” — the regulator confirms "
                         "policies; it is imported as submitted")
        record["status"] = stored or "submitted"


def snapshot(conn: Connection, tenant: Tenant | None, kind: str,
             records: list[dict]) -> dict[str, dict]:
    """An insurer's stored policies named by the file, under the file's column names."""
    if reach_org(tenant, kind) is None or kind != "policies":
        return {}
    keys = [r["policy_no"] for r in records]
    rows = conn.execute(text(f"SELECT * FROM ({read_sql('current_policies.sql')}) c "  # noqa: S608
                             "WHERE c.policy_no = ANY(:n)"), {"n": keys})
    return {row.policy_no: {k: _plain(v) for k, v in row._mapping.items()} for row in rows}


def _plain(value):
    # shares, reinsurance and riders are JSON text whose order may differ: compare them parsed
    if isinstance(value, str) and value[:1] in "[{":
        return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
    return value


def resubmit_changed(conn: Connection, before: dict[str, dict],
                     after: dict[str, dict]) -> dict[str, dict]:
    """Policies the file changed go back to the regulator's review (submitted); returns each
    changed policy's figures before and after, for its step."""
    changed = {}
    for policy_no, now in after.items():
        was = before.get(policy_no)
        if was is None:
            continue
        diff = {k: {"before": str(was[k]), "after": str(now[k])} for k in now
                if k != "status" and was.get(k) != now[k]}
        if diff:
            changed[policy_no] = diff
    if changed:
        conn.execute(text("UPDATE policy SET status = 'submitted' WHERE policy_no = ANY(:n) "
                          "AND status <> 'submitted'"), {"n": sorted(changed)})
    return changed
