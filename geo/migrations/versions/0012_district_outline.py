"""Each district's simplified outline as GeoJSON, stored with its boundary rather than
simplified again on every request for a district layer.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from alembic import op

from geo.sql import read_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0012_district_outline.sql"))


def downgrade() -> None:
    op.execute(read_sql("0012_district_outline_down.sql"))
