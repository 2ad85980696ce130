"""Parts of ``bench/webhook_ingest.py``: load generator, orchestration, report."""
