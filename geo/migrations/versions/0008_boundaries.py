"""Boundaries: visibility by policy, what insurers may write, complaint steps, secrets behind
functions, the owner's channel by reference, what each publication was made of.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from alembic import op

from geo.sql import read_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0008_boundaries.sql"))


def downgrade() -> None:
    op.execute(read_sql("0008_boundaries_down.sql"))
