"""Benchmarks: `make bench-nlu` runs bench/nlu.py."""
