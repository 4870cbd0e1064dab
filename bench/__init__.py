"""Benchmarks: `make bench` (bench/run.py) and the pieces it drives (floor_app, load)."""
