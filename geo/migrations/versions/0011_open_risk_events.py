"""An index of the risk events not yet closed, by project: tiles count them per project
without reading the closed ones.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from alembic import op

from geo.sql import read_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0011_open_risk_events.sql"))


def downgrade() -> None:
    op.execute(read_sql("0011_open_risk_events_down.sql"))
