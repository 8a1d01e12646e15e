"""Public layers with their approval steps and frozen values; API tokens; audit log access.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

from geo.sql import read_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TENANT_POLICIES = {
    "project": "visible_project(id)", "policy": "visible_project(project_id)",
    "policy_share": "visible_policy(policy_id)", "reinsurance_share": "visible_policy(policy_id)",
    "coverage_section": "visible_policy(policy_id)", "inspection": "visible_project(project_id)",
    "risk_event": "visible_project(project_id)", "report": "visible_project(project_id)",
    "claim": "visible_policy(policy_id)",
}


def upgrade() -> None:
    op.execute(read_sql("0004_publication_tokens.sql"))


def downgrade() -> None:
    op.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
          GRANT UPDATE, DELETE ON audit_log, import_log TO riskmap_web;
          GRANT DELETE ON layer_publication TO riskmap_web;
        END IF; END $$""")
    op.execute("DROP POLICY IF EXISTS audit_log_read ON audit_log")
    op.execute("DROP POLICY IF EXISTS audit_log_write ON audit_log")
    op.execute("ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY")
    for name in ("read", "insert", "update"):
        op.execute(f"DROP POLICY IF EXISTS layer_publication_{name} ON layer_publication")
    op.execute("ALTER TABLE layer_publication DISABLE ROW LEVEL SECURITY")
    op.execute("DROP TABLE IF EXISTS api_token, published_value, layer_publication_step")
    op.execute("""ALTER TABLE layer_publication
        DROP CONSTRAINT IF EXISTS approved_has_values,
        DROP CONSTRAINT IF EXISTS suppressed_city_has_no_value,
        DROP COLUMN title, DROP COLUMN submitted_by, DROP COLUMN submitted_at,
        DROP COLUMN withdrawn_by, DROP COLUMN withdrawn_at, DROP COLUMN min_projects,
        DROP COLUMN dominance, DROP COLUMN data_version, DROP COLUMN as_of,
        DROP COLUMN city_value, DROP COLUMN city_suppressed""")
    for table, check in TENANT_POLICIES.items():
        op.execute(f"ALTER POLICY {table}_tenant ON {table} USING ({check})")
    op.execute("DROP FUNCTION IF EXISTS riskmap_visible_policies()")
    op.execute("DROP FUNCTION IF EXISTS riskmap_visible_projects()")
    op.execute("DROP FUNCTION IF EXISTS riskmap_sees_all()")
