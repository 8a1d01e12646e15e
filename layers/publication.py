"""Public layers: a district layer with its filters that a regulator approved for everyone.

A publication goes draft → submitted → approved or rejected (with a reason) → withdrawn;
each step keeps who and when. On approval its values are computed once, as the approving
regulator sees them, hidden where `disclosure` says they would disclose too much, and frozen:
the public is shown exactly what was approved, never a live query of the programme.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo import clock, store
from geo.tenancy import CITY_ROLES, Tenant
from layers import catalogue, classify, disclosure
from layers.districts import SIMPLIFY_DEGREES, city_values, district_feature, district_metrics
from layers.filters import Filters
from layers.sql import read_sql

STATUS_ZH = {"draft": "草稿", "submitted": "待审核", "approved": "已批准", "rejected": "已驳回",
             "withdrawn": "已撤回"}
# (from, to) -> the roles that may take the step
TRANSITIONS = {
    ("draft", "submitted"): CITY_ROLES,
    ("submitted", "approved"): ("regulator",),
    ("submitted", "rejected"): ("regulator",),
    ("draft", "withdrawn"): CITY_ROLES,
    ("submitted", "withdrawn"): CITY_ROLES,
    ("approved", "withdrawn"): ("regulator",),
}
# the money whose concentration the dominance rule weighs, per date basis of the layers
MONEY_BASES = {"policy": ("premium_yuan", "sum_insured_yuan", "construction_cost_yuan"),
               "risk_event": (), "claim": ("paid_yuan",)}


class PublicationError(ValueError):
    """A step that may not be taken; the message says why and what may."""


def publishable_layers() -> list[catalogue.Layer]:
    return [layer for layer in catalogue.DISTRICT_LAYERS if layer.publishable]


def draft(conn: Connection, tenant: Tenant, layer_id: str, filters: Filters,
          title: str = "", city: str | None = None) -> int:
    """A new draft publication of ``layer_id`` with ``filters`` for ``city``'s public map
    (None: the city its approval names); returns its id."""
    if tenant.role not in CITY_ROLES:
        raise PublicationError("only the city's staff (regulator, planner, admin) draft "
                               "public layers")
    layer = catalogue.BY_ID.get(layer_id)
    if layer is None or layer not in publishable_layers():
        raise PublicationError(f"layer {layer_id!r} cannot be published: one of "
                               + ", ".join(la.id for la in publishable_layers()))
    title = (title or "").strip() or layer.title_zh
    if len(title) > 200:
        raise PublicationError("the title may have at most 200 characters")
    pub_id = conn.execute(text(
        "INSERT INTO layer_publication (layer_id, filters, title, created_by, city) "
        "VALUES (:layer, CAST(:filters AS jsonb), :title, :user, :city) RETURNING id"),
        {"layer": layer_id, "filters": json.dumps(filters.query()), "title": title,
         "user": tenant.user_id, "city": city}).scalar_one()
    _record_step(conn, tenant, pub_id, "draft", None)
    return pub_id


def _record_step(conn: Connection, tenant: Tenant, pub_id: int, status: str,
                 reason: str | None) -> None:
    conn.execute(text("INSERT INTO layer_publication_step (publication_id, status, reason, "
                      "user_id, actor) VALUES (:p, :s, :r, :u, :a)"),
                 {"p": pub_id, "s": status, "r": reason, "u": tenant.user_id,
                  "a": tenant.username})
    store.record_audit(conn, tenant.username, f"publication.{status}", str(pub_id),
                       json.dumps({"reason": reason}, ensure_ascii=False), user_id=tenant.user_id)


def contributions(conn: Connection, city: str, basis: str,
                  filters: Filters) -> list[disclosure.Contribution]:
    """Each project's part in the district values of a date basis under ``filters``."""
    bases = MONEY_BASES[basis]
    rows = conn.execute(text(read_sql("scope.sql") + read_sql("disclosure_contributions.sql")),
                        {**filters.params(), "city": city, "basis": basis})
    return [disclosure.Contribution(r.district.strip(), r.project_id,
                                    {b: float(getattr(r, b) or 0) for b in bases}) for r in rows]


def prior_publications(conn: Connection, city: str, basis: str,
                       exclude: int | None = None) -> list[disclosure.Published]:
    """What every publication of ``basis`` that was ever approved let out (a withdrawn one
    was public for a while: it counts too), from the projects kept at its approval; one
    approved before they were kept is worked out again from its filters."""
    found = []
    rows = conn.execute(text(
        "SELECT id, layer_id, filters, city_suppressed FROM layer_publication "
        "WHERE data_version IS NOT NULL AND status IN ('approved', 'withdrawn') "
        "AND id IS DISTINCT FROM :exclude ORDER BY id"), {"exclude": exclude}).all()
    for row in rows:
        if catalogue.BY_ID[row.layer_id].date_basis != basis:
            continue
        kept = conn.execute(text(
            "SELECT district_code, project_id, money FROM published_contribution "
            "WHERE publication_id = :p"), {"p": row.id}).all()
        parts = ([disclosure.Contribution(r.district_code.strip(), r.project_id, r.money)
                  for r in kept] if kept
                 else contributions(conn, city, basis, Filters.from_args(row.filters)))
        hidden = {d.strip() for (d,) in conn.execute(text(
            "SELECT district_code FROM published_value WHERE publication_id = :p "
            "AND suppressed"), {"p": row.id})}
        found.append(_published(parts, hidden, row.city_suppressed))
    return found


def _published(parts: list[disclosure.Contribution], hidden: set[str],
               city_hidden: bool) -> disclosure.Published:
    shown: dict[str, set[int]] = {}
    money: dict[int, dict[str, float]] = {}
    for c in parts:
        if c.district not in hidden:
            shown.setdefault(c.district, set()).add(c.project_id)
        money.setdefault(c.project_id, {}).update(c.money)
    union = frozenset(c.project_id for c in parts if c.district in hidden)
    return disclosure.Published({d: frozenset(p) for d, p in shown.items()},
                                None if city_hidden else union, money)


def pattern(conn: Connection, city: str, layer: catalogue.Layer, filters: Filters,
            rules: disclosure.Rules, districts: list[str],
            exclude: int | None = None) -> disclosure.Pattern:
    """The suppression pattern shared by every layer of ``layer``'s date basis, safe together
    with every publication approved before (``exclude``: the one being approved)."""
    prior = prior_publications(conn, city, layer.date_basis, exclude)
    return disclosure.suppression_pattern(
        contributions(conn, city, layer.date_basis, filters), districts,
        MONEY_BASES[layer.date_basis], rules, prior)


def preview(conn: Connection, city: str, layer_id: str, filters: Filters,
            rules: disclosure.Rules, exclude: int | None = None) -> dict:
    """The values a publication would show, with what is hidden and why."""
    layer = catalogue.get(layer_id)
    rows = district_metrics(conn, city, filters)
    found = pattern(conn, city, layer, filters, rules, [r["code"] for r in rows], exclude)
    items = [{"code": r["code"], "name": r["name"], "projects": r["projects"],
              "value": None if found.reason(r["code"]) else r[layer.id],
              "suppressed": found.reason(r["code"]) is not None,
              "reason": found.reason(r["code"]),
              "reason_zh": disclosure.REASONS_ZH.get(found.reason(r["code"]), "")}
             for r in rows]
    city_value = None if found.city_hidden else city_values(conn, city, filters, rows)[layer.id]
    return {"layer": layer.as_json(), "districts": items, "city_value": city_value,
            "city_suppressed": found.city_hidden, "rules": rules.__dict__}


def get(conn: Connection, pub_id: int) -> dict | None:
    """One publication with its steps (the steps only for the city's staff)."""
    row = conn.execute(text(
        "SELECT lp.*, u.username AS created_by_name FROM layer_publication lp "
        "LEFT JOIN app_user u ON u.id = lp.created_by WHERE lp.id = :id"), {"id": pub_id}).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["status_zh"] = STATUS_ZH[out["status"]]
    out["layer"] = catalogue.BY_ID[out["layer_id"]].as_json()
    out["steps"] = [dict(s._mapping) for s in conn.execute(text(
        "SELECT status, reason, actor, at FROM layer_publication_step "
        "WHERE publication_id = :id ORDER BY at, id"), {"id": pub_id})]
    for step in out["steps"]:
        step["status_zh"] = STATUS_ZH[step["status"]]
    return out


def list_all(conn: Connection, status: str | None = None) -> list[dict]:
    """Every publication the connection's tenant may see, newest first."""
    rows = conn.execute(text(
        "SELECT lp.id, lp.layer_id, lp.title, lp.filters, lp.status, lp.created_at, "
        "lp.decided_at, lp.reason, trim(lp.city) AS city FROM layer_publication lp "
        "WHERE CAST(:status AS text) IS NULL OR lp.status = :status ORDER BY lp.id DESC"),
        {"status": status})
    return [{**row._mapping, "status_zh": STATUS_ZH[row.status],
             "layer_title": catalogue.BY_ID[row.layer_id].title_zh} for row in rows]


def move(conn: Connection, tenant: Tenant, pub_id: int, to: str, *, reason: str | None = None,
         city: str | None = None, rules: disclosure.Rules | None = None) -> None:
    """Take one step of the workflow; approval freezes the values (needs city and rules)."""
    current = conn.execute(text("SELECT status FROM layer_publication WHERE id = :id "
                                "FOR UPDATE"), {"id": pub_id}).scalar()
    if current is None:
        raise PublicationError(f"no publication {pub_id}")
    allowed = [t for (f, t) in TRANSITIONS if f == current]
    roles = TRANSITIONS.get((current, to))
    if roles is None:
        raise PublicationError(
            f"publication {pub_id} is {STATUS_ZH[current]} ({current}): it may go to "
            + (", ".join(allowed) if allowed else "no other state"))
    if tenant.role not in roles:
        raise PublicationError(f"a {tenant.role} may not move a publication to {to}: "
                               f"only {', '.join(roles)}")
    reason = (reason or "").strip() or None
    if to == "rejected" and not reason:
        raise PublicationError("a rejection needs a reason")
    if to == "approved":
        _freeze(conn, pub_id, city, rules or disclosure.Rules())
    column = {"submitted": "submitted", "withdrawn": "withdrawn"}.get(to, "decided")
    conn.execute(text(f"UPDATE layer_publication SET status = :to, reason = COALESCE(:r, reason), "  # noqa: S608
                      f"{column}_by = :u, {column}_at = now() WHERE id = :id"),
                 {"to": to, "r": reason, "u": tenant.user_id, "id": pub_id})
    _record_step(conn, tenant, pub_id, to, reason)


def _freeze(conn: Connection, pub_id: int, city: str | None, rules: disclosure.Rules) -> None:
    row = conn.execute(text("SELECT layer_id, filters, city FROM layer_publication "
                            "WHERE id = :id"), {"id": pub_id}).one()
    # a draft's own city wins: it is the city whose staff may see and decide it
    city = row.city.strip() if row.city else city
    if city is None:
        raise PublicationError("approval needs the city whose districts are published")
    conn.execute(text("UPDATE layer_publication SET city = :c WHERE id = :id"),
                 {"c": city, "id": pub_id})
    filters = Filters.from_args(row.filters)
    shown = preview(conn, city, row.layer_id, filters, rules, exclude=pub_id)
    for item in shown["districts"]:
        conn.execute(text("INSERT INTO published_value (publication_id, district_code, value, "
                          "suppressed) VALUES (:p, :d, :v, :s)"),
                     {"p": pub_id, "d": item["code"], "v": item["value"],
                      "s": item["suppressed"]})
    _keep_contributions(conn, pub_id, city, catalogue.BY_ID[row.layer_id].date_basis, filters,
                        {item["code"] for item in shown["districts"]})
    version, as_of = store.data_state(conn)
    conn.execute(text(
        "UPDATE layer_publication SET min_projects = :k, dominance = :dom, data_version = :v, "
        "as_of = :as_of, city_value = :cv, city_suppressed = :cs WHERE id = :id"),
        {"k": rules.min_projects, "dom": rules.dominance, "v": version, "as_of": as_of,
         "cv": shown["city_value"], "cs": shown["city_suppressed"], "id": pub_id})


def _keep_contributions(conn: Connection, pub_id: int, city: str, basis: str,
                        filters: Filters, districts: set[str]) -> None:
    """The projects behind the publication's values, for checking later ones against it."""
    merged: dict[tuple[str, int], dict[str, float]] = {}
    for c in contributions(conn, city, basis, filters):
        if c.district in districts:
            money = merged.setdefault((c.district, c.project_id), {})
            for base, amount in c.money.items():
                money[base] = money.get(base, 0.0) + amount
    if merged:
        conn.execute(text("INSERT INTO published_contribution (publication_id, district_code, "
                          "project_id, money) VALUES (:p, :d, :i, CAST(:m AS jsonb))"),
                     [{"p": pub_id, "d": d, "i": i, "m": json.dumps(m)}
                      for (d, i), m in merged.items()])


def public_layers(conn: Connection, city: str | None = None) -> list[dict]:
    """The approved publications (of ``city``'s public map when given), as the public map
    lists them."""
    return [{"id": p["id"], "title": p["title"], "layer_title": p["layer_title"],
             "group_zh": catalogue.GROUPS[catalogue.BY_ID[p["layer_id"]].group]}
            for p in list_all(conn, "approved")
            if city is None or p["city"] in (None, city)]


def public_layer(conn: Connection, pub_id: int) -> dict | None:
    """An approved publication as GeoJSON: frozen values, hidden ones as null, a legend."""
    pub = conn.execute(text(
        "SELECT id, layer_id, title, filters, decided_at, as_of, city_value, city_suppressed "
        "FROM layer_publication WHERE id = :id AND status = 'approved'"), {"id": pub_id}).first()
    if pub is None:
        return None
    layer = catalogue.BY_ID[pub.layer_id]
    rows = conn.execute(text(
        "SELECT d.code, d.name, v.value, v.suppressed, ST_AsGeoJSON(ST_SimplifyPreserveTopology("
        "d.boundary, :tol), 5) AS geometry FROM published_value v "
        "JOIN district d ON d.code = v.district_code WHERE v.publication_id = :id ORDER BY d.code"),
        {"id": pub_id, "tol": SIMPLIFY_DEGREES}).all()
    breaks = classify.class_breaks(layer, [r.value for r in rows if not r.suppressed])
    legend = classify.legend(layer, breaks)
    return {"type": "FeatureCollection", "id": pub.id, "title": pub.title,
            "layer": layer.as_json(), "legend": legend, "filters": pub.filters,
            "approved_at": pub.decided_at.astimezone(clock.CHINA).isoformat(),
            "as_of": pub.as_of.isoformat(),
            "city_value": pub.city_value, "city_suppressed": pub.city_suppressed,
            "features": [_public_feature(layer, r, breaks, legend) for r in rows]}


def _public_feature(layer, row, breaks, legend) -> dict:
    # a hidden value has no value: it is drawn and described as such, never classed
    feature = district_feature(layer, row.code.strip(), row.name, row.value, row.geometry,
                               breaks, legend)
    feature["properties"]["suppressed"] = row.suppressed
    if row.suppressed:
        feature["properties"]["value_text"] = "已隐藏（样本过少或过于集中）"
    return feature
