"""The district days summed by month as well, for the layers of the whole nation.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from alembic import op

from geo.sql import read_sql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0016_district_month.sql"))


def downgrade() -> None:
    op.execute(read_sql("0016_district_month_down.sql"))
