"""An insurer submits a policy for the regulator's review (Kunming 四（一）保险审核): the project
by its permit number, the quote's figures, the co-insurance agreement's shares, the TIS, the
reinsurers; the quote, the agreement and the signed policy are uploaded with the step.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import programme
from geo.lifecycle import LifecycleError
from geo.tenancy import Tenant

_PART = re.compile(r"^\s*(.+?)\s*[:：]\s*([0-9.]+)\s*%?\s*$")


def parse_shares(cell: str | None) -> list[tuple[str, Decimal]]:
    """"A:40%, B:20%" as [(name, 0.4), (name, 0.2)]; commas or semicolons, Chinese or ASCII.

    >>> parse_shares("嘉禾保险:30%；泰和：20")
    [('嘉禾保险', Decimal('0.3')), ('泰和', Decimal('0.2'))]
    >>> parse_shares("")
    []
    """
    out = []
    for part in re.split(r"[,，;；]", cell or ""):
        if not part.strip():
            continue
        match = _PART.match(part)
        try:
            share = Decimal(match[2]) / 100 if match else None
        except InvalidOperation:
            share = None
        if share is None or not 0 < share <= 1:
            raise LifecycleError(f"份额“{part.strip()}”应写作“名称:百分比”。a share is "
                                 f"written 'name: percent', not {part.strip()!r}")
        out.append((match[1], share))
    return out


def _organisation(conn: Connection, name: str, kind: str) -> int:
    found = conn.execute(text("SELECT id FROM organisation WHERE kind = :k AND (name = :n "
                              "OR short_name = :n OR id::text = :n)"),
                         {"k": kind, "n": name.strip()}).scalar()
    if found is None:
        label = programme.ORGANISATION_KINDS[kind]
        raise LifecycleError(f"没有名为“{name}”的{label}。no {kind} called {name!r}")
    return found


def _project(conn: Connection, permit_no: str) -> tuple[int, object]:
    # found only where the insurer may insure it (its own project, or one nobody else insures
    # live): a competitor's project answers as an unknown one (migration 0008)
    row = conn.execute(text("SELECT * FROM riskmap_policy_project(:p)"),
                       {"p": permit_no.strip()}).first()
    if row is None:
        raise LifecycleError(f"没有报建号为“{permit_no}”、可由本公司投保的项目（其他保险公司已承保"
                             f"的项目不能再提交保单）。no project with permit number "
                             f"{permit_no!r} your company may insure")
    return row.id, row.completion_date


def submit_policy(conn: Connection, tenant: Tenant, values: dict) -> int:
    """Write the submitted policy with its shares, reinsurance and basic cover; its id."""
    project, completion = _project(conn, values["permit_no"])
    co = [(_organisation(conn, n, "insurer"), s) for n, s in parse_shares(values["coinsurers"])]
    lead_share = 1 - sum(s for _, s in co)
    if lead_share <= 0 or tenant.organisation_id in {i for i, _ in co}:
        raise LifecycleError("共保份额之和须小于 100%，且不含首席承保公司本身。the co-insurers' "
                             "shares must leave the lead a share")
    policy = conn.execute(text("""
        INSERT INTO policy (policy_no, project_id, lead_insurer_id, tis_id, premium_yuan, rate,
                            sum_insured_yuan, issue_date, status)
        VALUES (:no, :p, :lead, :tis, :premium, :rate, :si, :on, 'submitted') RETURNING id"""),
        {"no": values["policy_no"], "p": project, "lead": tenant.organisation_id,
         "tis": _organisation(conn, values["tis"], "tis"), "premium": values["premium_yuan"],
         "rate": values["rate_pct"] / 100, "si": values["sum_insured_yuan"],
         "on": values["on"]}).scalar_one()
    for insurer, share, lead in [(tenant.organisation_id, lead_share, True),
                                 *[(i, s, False) for i, s in co]]:
        conn.execute(text("INSERT INTO policy_share VALUES (:po, :i, :lead, :s)"),
                     {"po": policy, "i": insurer, "lead": lead, "s": share})
    for name, share in parse_shares(values["reinsurers"]):
        conn.execute(text("INSERT INTO reinsurance_share VALUES (:po, :r, :s)"),
                     {"po": policy, "r": _organisation(conn, name, "reinsurer"), "s": share})
    for section in programme.BASIC_SECTIONS:
        dates = programme.coverage_period(section.code, completion) if completion else (None, None)
        conn.execute(text("INSERT INTO coverage_section (policy_id, section, starts_on, ends_on) "
                          "VALUES (:po, :s, :a, :b)"),
                     {"po": policy, "s": section.code, "a": dates[0], "b": dates[1]})
    return policy
