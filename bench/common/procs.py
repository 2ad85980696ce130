"""Processes: free ports, servers spawned in their own sessions, waiting for them, stopping them, log tails."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import BenchError
from bench.common.web import http_request


def make_log(prefix: str) -> Callable[[str], None]:
    """``log(msg)`` printing ``[prefix HH:MM:SS] msg`` on stderr (stdout is kept for the report)."""

    def log(msg: str) -> None:
        print(f"[{prefix} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    return log


def interrupt(signum, frame):  # SIGTERM → the same clean-up as Ctrl+C (through the finally blocks)
    raise KeyboardInterrupt


def raise_nofile_limit() -> None:
    """Soft open-files limit up to the hard one (one socket per connection)."""
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(cmd: list[str], *, cwd: Path, env: dict[str, str], log_file: Any) -> subprocess.Popen:
    """A server in its own session (so its whole process group can be killed), output to ``log_file``."""
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def wait_http_200(
    popen: subprocess.Popen,
    port: int,
    path: str,
    timeout: float,
    *,
    name: str,
    log_tail: Callable[[], str],
    prefix: str = "",
    body_chars: int = 200,
) -> bytes:
    """Poll ``GET path`` until it answers 200 (returns the body); BenchError when the server exits or on timeout."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise BenchError(f"{name} exited with {popen.returncode}:\n{log_tail()}")
        try:
            status, body = http_request(port, "GET", path)
            if status == 200:
                return body
            last = f"{status} {body[:body_chars]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise BenchError(f"{prefix}{path} not 200 after {timeout}s ({last}):\n{log_tail()}")


def stop_popen(popen: subprocess.Popen | None, grace: float = 10, *, reap_exited: bool = True) -> None:
    """SIGTERM (graceful: a master stops its own children), then SIGKILL to the process group it leads (its own
    session, ``start_new_session``: leftovers only). ``reap_exited=False`` leaves an already exited one alone."""
    if popen is None or (not reap_exited and popen.poll() is not None):
        return
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            popen.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(5)


def stop_children(procs: list[mp.Process], join: float, after_kill: float | None = None) -> None:
    """Terminate multiprocessing children, then kill those still alive after ``join`` s."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(join)
        if proc.is_alive():
            proc.kill()
            if after_kill is not None:
                proc.join(after_kill)


def server_env(
    *, database_url: str, redis_url: str, broker: str, cache_prefix: str, app_secret: str, **extra: str
) -> dict[str, str]:
    """The environment of the servers and ``manage.py``: the parent's minus OTEL_/DJANGO_/GUNICORN_ variables, DEBUG
    off, WARNING logs, a non-eager Celery, the bench's database/Redis/app secret, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DJANGO_", "GUNICORN_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "hotel_agent.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CACHE_KEY_PREFIX": cache_prefix,
            "WHATSAPP_APP_SECRET": app_secret,
            "WHATSAPP_ACCESS_TOKEN": "",  # outbound goes to the log sender (no internet)
            "PMS_TYPE": "mock",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "",
            "GUNICORN_LOG_LEVEL": "warning",
            "GUNICORN_GRACEFUL_TIMEOUT": "5",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env
