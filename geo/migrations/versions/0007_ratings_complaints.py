"""Project quality grades, service ratings, reopened claims, complaints, other insurance.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op

from geo.sql import read_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0007_ratings_complaints.sql"))


def downgrade() -> None:
    for function in ("riskmap_mark_reopened(int, int)", "riskmap_public_insurers(int)", "riskmap_public_building(int)",
                     "riskmap_public_complaint(text, text)",
                     "riskmap_public_file_complaint(text, text, int, text, text, text, date, "
                     "text)", "riskmap_public_rate_claim(text, text, int, text, date)"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP TABLE other_policy, complaint, service_rating, tis_grade, project_grade")
    op.execute("ALTER TABLE claim DROP COLUMN reopens_claim_id")
