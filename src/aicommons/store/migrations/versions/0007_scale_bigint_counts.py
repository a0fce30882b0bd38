"""Counts and limits as 64-bit integers (PostgreSQL's INTEGER stops at 2,147,483,647).

Revision ID: scale_bigint
Revises: 0004_usage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "scale_bigint"
down_revision = "0004_usage"
branch_labels = None
depends_on = None

_COLUMNS = {
    "usage_daily": ("requests", "failed", "prompt_tokens", "completion_tokens"),
    "limits": (
        "tokens_per_day",
        "tokens_per_month",
        "requests_per_minute",
        "tokens_per_minute",
        "max_parallel",
    ),
}


def upgrade() -> None:
    # SQLite's INTEGER already holds 64 bits; only PostgreSQL needs the change.
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in _COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in _COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
