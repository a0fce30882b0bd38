"""Writes that change how the platform behaves (tenants, keys, limits, models, applications):
one service validates each, writes it and its ledger record in one transaction, and tells every
replica; the admin API, the dashboard and the command line all call it."""
