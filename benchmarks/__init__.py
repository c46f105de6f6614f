"""Benchmarks of the case-file system: see README.md."""
