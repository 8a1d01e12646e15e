"""Imports go through the lifecycles too: a file may bring records several steps on (another
system took the steps), never back, and every status it changes is recorded as a step.

A claim imported as 已报案 after it was 已结案, or a policy brought back from 已注销, is refused
with the row and the rule; the rest of the file is then not written either.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.lifecycle import LIFECYCLES
from geo.tenancy import Tenant
from loaders.imports.pipeline import Problem

# import kind -> (lifecycle, table, key column): the kinds whose records have a lifecycle
KEYED = {"policies": ("policy", "policy", "policy_no"), "claims": ("claim", "claim", "claim_no"),
         "risk-events": ("risk_event", "risk_event", "event_no")}


def states(conn: Connection, kind: str, records: list[dict]) -> dict[str, tuple[int, str]]:
    """Each of the records' current id and status in the store, by its key."""
    if kind not in KEYED:
        return {}
    _, table, key = KEYED[kind]
    keys = [r[key] for r in records if r.get(key)]
    rows = conn.execute(text(f"SELECT {key}, id, status FROM {table} "  # noqa: S608 - own names
                             f"WHERE {key} = ANY(:keys)"), {"keys": keys})
    return {k: (i, s) for k, i, s in rows}


def backward_moves(kind: str, records: list[dict], before: dict, after: dict) -> list[Problem]:
    """A problem for each record whose new status cannot follow its old one."""
    if kind not in KEYED:
        return []
    machine, key = LIFECYCLES[KEYED[kind][0]], KEYED[kind][2]
    problems = []
    for record in records:
        old = before.get(record.get(key), (None, None))[1]
        new = after.get(record.get(key), (None, None))[1]
        # a new record may arrive in any state: another system took its steps
        if new is None or old is None or new == old or new in machine.reachable(old):
            continue
        was, now = machine.states.get(old, old or "新建"), machine.states.get(new, new)
        problems.append(Problem(record["_row"], record["_headers"].get("status", "status"), now,
                                f"{machine.label}已是“{was}”，不能退回到“{now}” — a "
                                f"{machine.name} cannot go back from {old!r} to {new!r}"))
    return problems


def record_steps(conn: Connection, kind: str, before: dict, after: dict, actor: str,
                 tenant: Tenant | None, file_name: str, changes: dict | None = None) -> int:
    """One 'import' step for every record whose status the file set or changed; ``changes``
    gives, by key, the figures a resubmitted policy had before and has after."""
    if kind not in KEYED:
        return 0
    lifecycle = KEYED[kind][0]
    changes = changes or {}
    moved = [(k, i, before.get(k, (None, None))[1], s) for k, (i, s) in after.items()
             if before.get(k, (None, None))[1] != s or k in changes]
    for key, entity_id, old, new in moved:
        conn.execute(text("""
            INSERT INTO lifecycle_step (lifecycle, entity_id, step, from_state, to_state,
                                        on_date, user_id, actor, role, organisation_id, detail)
            VALUES (:lc, :id, 'import', :old, :new,
                    (now() AT TIME ZONE 'Asia/Shanghai')::date, :user, :actor,
                    :role, :org, CAST(:detail AS jsonb))"""),
            {"lc": lifecycle, "id": entity_id, "old": old, "new": new,
             "user": tenant and tenant.user_id, "actor": actor,
             "role": tenant.role if tenant else "cli", "org": tenant and tenant.organisation_id,
             "detail": json.dumps({"file": file_name, **({"changes": changes[key]}
                                                         if key in changes else {})},
                                  ensure_ascii=False)})
    return len(moved)
