"""Benchmarks: each script runs alone, next to its peer, and prints name: value lines."""
