"""Import log: who loaded which file, when, with what result.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

from geo.sql import read_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("0002_import_log.sql"))


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS import_log")
