"""The projects on the map, kept current by the writes: a regulator's tile reads only the
projects in its box, not every live policy.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from alembic import op

from geo.sql import read_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0010_map_project.sql"))


def downgrade() -> None:
    op.execute(read_sql("0010_map_project_down.sql"))
