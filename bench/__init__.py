"""Benchmarks: reproducible scripts that print a table beside the tools users would otherwise use."""
