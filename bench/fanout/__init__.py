"""Parts of ``bench/console_fanout.py``: data, console clients and webhook sender, orchestration, report."""
