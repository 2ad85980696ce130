"""Benchmarks (measurements, not tests): run them as scripts, e.g. ``.venv/bin/python bench/webhook_ingest.py``."""
