"""Benchmarks: held-out datasets, metrics, report with plots."""
