"""Evaluation: response cache and runs.

Revision ID: 0005_evaluation
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aicommons.store.tables import UTCDateTime

revision = "0005_evaluation"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_cache",
        sa.Column("model_key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), primary_key=True),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False, index=True),
        sa.Column("model_file", sa.Text, nullable=True),
        sa.Column("model_sha256", sa.String(64), nullable=True),
        sa.Column("model_revision", sa.String(200), nullable=True),
        sa.Column("quantisation", sa.String(50), nullable=True),
        sa.Column("engine", sa.String(50), nullable=False),
        sa.Column("task", sa.String(100), nullable=False, index=True),
        sa.Column("task_version", sa.String(20), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("timings", sa.JSON, nullable=False),
        sa.Column("num_items", sa.Integer, nullable=False),
        sa.Column("num_requests", sa.Integer, nullable=False),
        sa.Column("num_cached", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("items_per_s", sa.Float, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("eval_runs")
    op.drop_table("eval_cache")
