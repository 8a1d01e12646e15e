"""Rebuilding the kept map summaries of the whole programme in plain statements.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from alembic import op

from geo.sql import read_sql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0015_rebuild_map.sql"))


def downgrade() -> None:
    op.execute(read_sql("0015_rebuild_map_down.sql"))
