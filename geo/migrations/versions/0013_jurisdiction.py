"""Jurisdictions: the city's staff see the programme of their district, city, province or
the nation; one store holds many cities.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from alembic import op

from geo.sql import read_sql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0013_jurisdiction.sql"))


def downgrade() -> None:
    op.execute(read_sql("0013_jurisdiction_down.sql"))
