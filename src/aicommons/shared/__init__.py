"""Shared mode: what many gateway processes and machines share through Redis so that they act
as one platform (budgets and rate windows, fair-share counters and places, change notices).

Each piece is an adapter beside a pure core that keeps working in one process without Redis:
the quota book (`gateway.quota`), the fair queue (`gateway.scheduler`), local change delivery
(`admin.changes`). PostgreSQL stays the source of truth; everything in Redis can be rebuilt.
"""
