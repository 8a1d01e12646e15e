"""The lifecycles' steps, documents, risk management, disputes and subrogation; the public's
claim functions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from alembic import op

from geo.sql import read_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0006_lifecycles.sql"))


def downgrade() -> None:
    for function in ("riskmap_public_file_claim(int, text, text, text, text, text, boolean, "
                     "date, text)", "riskmap_public_claim_steps(text, text)",
                     "riskmap_public_claim(text, text)", "riskmap_public_cover(int)",
                     "riskmap_public_buildings(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP TABLE claim_subrogation, claim_dispute, document, lifecycle_step, "
               "risk_management")
    op.execute("DROP FUNCTION riskmap_record_visible(text, int)")
    op.execute("ALTER TABLE claim DROP COLUMN emergency_repair_on, DROP COLUMN description")
    op.execute("ALTER TABLE risk_event DROP COLUMN evidence_submitted_on, "
               "DROP COLUMN evidence_note")
    op.execute("ALTER TABLE project DROP COLUMN units_sold")
