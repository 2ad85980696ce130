#!/bin/sh
# Entry point of the hotel-agent image: prepares runtime directories, then runs the command (gunicorn, daphne,
# celery, manage.py ...) as PID 1's child of tini when compose sets `init: true`.
set -eu

if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    # The Celery worker shares its metrics directory with the worker-metrics exporter; files left by the previous
    # run belong to dead processes. (gunicorn cleans its own directory in gunicorn.conf.py's on_starting.)
    if [ "${PROMETHEUS_MULTIPROC_WIPE_ON_START:-0}" = "1" ]; then
        find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -type f -name '*.db' -delete
    fi
fi

exec "$@"
