"""The history of an application's declared facts and classification.

Revision ID: scale_app_history
Revises: 0002_governance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aicommons.store.tables import UTCDateTime

revision = "scale_app_history"
down_revision = "0002_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "application_history",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "application_id",
            sa.String(32),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("actor_key_id", sa.String(32), nullable=True),
        sa.Column("via", sa.String(100), nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("decision", sa.JSON, nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("application_history")
