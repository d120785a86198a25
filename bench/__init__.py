"""Benchmarks: synthetic catalogues and the harness that times the API over them."""
