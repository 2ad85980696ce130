"""Helpers shared by the benchmark scripts (``webhook_ingest.py``, ``console_fanout.py``): stdlib only at import."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project (manage.py, gunicorn.conf.py)


class BenchError(Exception):
    """Setup or serving failed: the bench stops everything it started and exits 1."""
