"""Openness records per model and source; latest energy benchmark per model.

Revision ID: 0006_openness
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aicommons.store.tables import UTCDateTime

revision = "0006_openness"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_openness",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(10), primary_key=True),
        sa.Column("record_name", sa.String(200), nullable=False),
        sa.Column("producer", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(100), nullable=True),
        sa.Column("base_model", sa.String(200), nullable=True),
        sa.Column("licence", sa.String(200), nullable=True),
        sa.Column("mof_class", sa.Integer, nullable=True),
        sa.Column("mof_label", sa.String(100), nullable=True),
        sa.Column("osai_score", sa.Float, nullable=True),
        sa.Column("osaid_passes", sa.Boolean, nullable=False),
        sa.Column("osaid", sa.JSON, nullable=False),
        sa.Column("components", sa.JSON, nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "model_energy",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("joules_per_query", sa.Float, nullable=False),
        sa.Column("tokens_per_s", sa.Float, nullable=False),
        sa.Column("output_tokens_per_query", sa.Float, nullable=False),
        sa.Column("num_queries", sa.Integer, nullable=False),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("grid_country", sa.String(10), nullable=False),
        sa.Column("grid_g_per_kwh", sa.Float, nullable=False),
        sa.Column("measured_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_energy")
    op.drop_table("model_openness")
