"""Benchmarks for bioseq: speed and memory (``bench_core``), published datasets (``benchmarks``).

Run everything that prints a ratio with ``python -m bench``. Nothing here asserts a timing; the
scripts print their figures with the targets beside them.
"""
