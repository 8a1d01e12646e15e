"""map_project holds what a regulator's tile draws, in the order of its points on the map.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from alembic import op

from geo.sql import read_sql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0017_map_tile.sql"))


def downgrade() -> None:
    op.execute(read_sql("0017_map_tile_down.sql"))
