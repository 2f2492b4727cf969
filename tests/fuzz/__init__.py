"""Fuzz targets, one definition each: tests/test_fuzz.py runs them at the CI count, bench/fuzz.py at 10k."""
