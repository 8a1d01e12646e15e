"""Organisation files: insurers, reinsurers, TIS and the parties of projects."""

from __future__ import annotations

from loaders.imports.columns import ORGANISATIONS
from loaders.imports.kinds import Context, ImportKind
from loaders.imports.pipeline import Checked


def check(checked: Checked, context: Context) -> None:
    """An organisation in use keeps its kind (the store refuses the change; say so per row)."""
    known = context.organisation_kinds(r.get("name") for r in checked.valid_records())
    for record in checked.valid_records():
        was = known.get(record.get("name"))
        if was is not None and was != record.get("kind"):
            checked.reject(record, record["_headers"]["kind"], record.get("kind"),
                           f"该单位已登记为「{was}」，类型不能更改 — the kind of a registered "
                           "organisation cannot change")


IMPORT_KIND = ImportKind(
    name="organisations", title="参与单位", columns=ORGANISATIONS, key="name",
    stage_sql="stage_organisations.sql", stage_table="stage_organisation",
    upsert_sqls=("upsert_organisations.sql",), check=check)
