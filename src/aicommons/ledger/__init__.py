"""The accountability ledger: append-only, hash-chained records of requests and admin actions."""
