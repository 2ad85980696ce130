"""Serve the Celery worker's Prometheus metrics (``worker-metrics`` service in docker-compose.yml).

The worker runs with PROMETHEUS_MULTIPROC_DIR on a volume it shares with this exporter: every prefork child writes
its counters there and this process aggregates them with prometheus_client's MultiProcessCollector, the same way
the api aggregates its gunicorn workers. It never imports Django and only reads the directory.

    METRICS_PORT  port to listen on (default 9808)
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector


def main() -> int:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not directory or not os.path.isdir(directory):
        print(f"PROMETHEUS_MULTIPROC_DIR must name an existing directory, got {directory!r}", file=sys.stderr)
        return 2
    port = int(os.environ.get("METRICS_PORT", "9808"))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    server, thread = start_http_server(port, addr="0.0.0.0", registry=registry)  # noqa: S104
    print(f"serving worker metrics from {directory} on :{port}/metrics", flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
