"""The outline of every city and province, kept beside their districts' boundaries.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from alembic import op

from geo.jurisdiction import refresh_area_outlines
from geo.sql import read_sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0014_area_outline.sql"))
    refresh_area_outlines(op.get_bind())


def downgrade() -> None:
    op.execute(read_sql("0014_area_outline_down.sql"))
