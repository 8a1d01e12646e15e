"""Row-level security: each request sees only its organisation's projects and what hangs on them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

from geo.sql import read_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PROTECTED = ("project", "policy", "policy_share", "reinsurance_share", "coverage_section",
             "inspection", "risk_event", "report", "claim")


def upgrade() -> None:
    op.execute(read_sql("0003_row_security.sql"))


def downgrade() -> None:
    for table in PROTECTED:
        op.execute(f"DROP POLICY IF EXISTS {table}_tenant ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
          REVOKE ALL ON ALL TABLES IN SCHEMA public FROM riskmap_web;
          REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM riskmap_web;
          REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM riskmap_web;
        END IF; END $$""")
    for function in ("visible_policy(int)", "visible_project(int)", "riskmap_org()",
                     "riskmap_role()"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
