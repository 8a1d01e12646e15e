"""Insurers' limits on their accumulated exposure.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from alembic import op

from geo.sql import read_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0005_exposure_limits.sql"))


def downgrade() -> None:
    op.execute("DROP TABLE exposure_limit")
