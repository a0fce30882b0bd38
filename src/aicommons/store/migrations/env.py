"""Alembic environment: runs on the connection that `Database.migrate` hands over."""

from __future__ import annotations

from alembic import context

import aicommons.store.applications
import aicommons.store.evaluation  # noqa: F401  (registers the evaluation tables)
from aicommons.store import ledger as _ledger  # noqa: F401  (registers its table)
from aicommons.store import openness as _openness  # noqa: F401 - registers its tables
from aicommons.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through aicommons.store.database.Database.migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
