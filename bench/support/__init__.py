"""Helpers the benchmarks share: processes they start and a load generator (not benchmarks)."""
