"""Gunicorn configuration for the HTTP API: ``gunicorn -c gunicorn.conf.py hotel_agent.wsgi:application``.

Everything is read from the environment so the same file serves the container (docker-compose.yml), the benchmark
and a bare-metal deploy.  Command-line flags still win over these values.

GUNICORN_BIND            address to listen on                       (default 0.0.0.0:8000)
GUNICORN_WORKERS         worker processes (then WEB_CONCURRENCY)     (default 2 * CPUs + 1)
GUNICORN_WORKER_CLASS    sync, gthread, ...                          (default sync)
GUNICORN_THREADS         threads per worker (> 1 implies gthread)    (default 1)
GUNICORN_TIMEOUT         seconds before a silent worker is killed    (default 30)
GUNICORN_GRACEFUL_TIMEOUT seconds to finish requests on restart      (default 30)
GUNICORN_KEEPALIVE       seconds to hold an idle keep-alive socket   (default 5)
GUNICORN_MAX_REQUESTS    recycle a worker after N requests, 0 = off  (default 0)
GUNICORN_MAX_REQUESTS_JITTER                                         (default 0)
GUNICORN_ACCESS_LOG      true to write an access log to stdout       (default false; the app logs requests)
GUNICORN_LOG_LEVEL       gunicorn's own log level                    (default info)
FORWARDED_ALLOW_IPS      proxies trusted for X-Forwarded-*           (default 127.0.0.1,::1)
PROMETHEUS_MULTIPROC_DIR when set, metrics of every worker are aggregated (prometheus_client multiprocess mode);
                         the directory is created and emptied when the master starts.
"""

from __future__ import annotations

import os
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {value!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise RuntimeError(f"{name} must be a boolean (true/false), got {value!r}")


def _cpu_count() -> int:
    # The CPUs this process may run on (honours taskset/cpusets), not every CPU of the host.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _multiproc_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()


# --- server socket -------------------------------------------------------------------------------------------
# All interfaces: inside the container the proxy reaches gunicorn over the compose network.
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
backlog = _env_int("GUNICORN_BACKLOG", 2048)

# --- workers -------------------------------------------------------------------------------------------------
workers = _env_int("GUNICORN_WORKERS", _env_int("WEB_CONCURRENCY", 2 * _cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = _env_int("GUNICORN_THREADS", 1)
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 0)
# The heartbeat file is fchmod()-ed constantly; keep it in memory when possible (Docker's overlay fs can stall).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# --- proxy ---------------------------------------------------------------------------------------------------
# Only the proxies listed here may set X-Forwarded-Proto (compose sets "*": the api port is not published).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- logging -------------------------------------------------------------------------------------------------
# Requests are already logged as JSON by django-structlog; gunicorn's access log is opt-in.
accesslog = "-" if _env_bool("GUNICORN_ACCESS_LOG", False) else None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "hotel-agent-api"

# --- control socket (gunicorn >= 25) -------------------------------------------------------------------------
# Off unless asked for: it would be created under $HOME, which is not writable for the container user.
control_socket_disable = not _env_bool("GUNICORN_CONTROL_SOCKET", False)


# --- hooks ---------------------------------------------------------------------------------------------------
def on_starting(server) -> None:
    """Create the Prometheus multiprocess directory and drop the files of a previous run (stale pids)."""
    directory = _multiproc_dir()
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    # Only the *.db files: the directory itself may be a mount point (tmpfs / volume) that cannot be removed.
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    server.log.info("Prometheus multiprocess metrics in %s", path)


def child_exit(server, worker) -> None:
    """Tell prometheus_client a worker is gone so its live gauges stop being reported."""
    if not _multiproc_dir():
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
