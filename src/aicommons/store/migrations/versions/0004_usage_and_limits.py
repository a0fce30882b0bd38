"""Usage aggregates per day, tenant, key and model; limits per tenant and key.

Revision ID: 0004_usage
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_usage"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("energy_joules", sa.Float, nullable=False),
        sa.Column("gco2e", sa.Float, nullable=False),
    )
    op.create_index("ix_usage_daily_tenant_day", "usage_daily", ["tenant_id", "day"])
    op.create_index("ix_usage_daily_key_day", "usage_daily", ["key_id", "day"])
    op.create_table(
        "limits",
        sa.Column("scope", sa.String(10), primary_key=True),
        sa.Column("scope_id", sa.String(32), primary_key=True),
        sa.Column("tokens_per_day", sa.Integer),
        sa.Column("tokens_per_month", sa.Integer),
        sa.Column("requests_per_minute", sa.Integer),
        sa.Column("tokens_per_minute", sa.Integer),
        sa.Column("max_parallel", sa.Integer),
    )


def downgrade() -> None:
    op.drop_table("limits")
    op.drop_index("ix_usage_daily_key_day", "usage_daily")
    op.drop_index("ix_usage_daily_tenant_day", "usage_daily")
    op.drop_table("usage_daily")
