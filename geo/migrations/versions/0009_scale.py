"""Fast at a city's scale: every table an answer reads moves the data version, so answers
can be kept by data version.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from alembic import op

from geo.sql import read_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0009_scale.sql"))


def downgrade() -> None:
    op.execute(read_sql("0009_scale_down.sql"))
