"""Container healthchecks for the hotel-agent image (standard library + redis-py only; no Django import).

    python docker/app/healthcheck.py http http://127.0.0.1:8000/health/ready   # exit 0 on a 2xx answer
    python docker/app/healthcheck.py beat                                      # celery beat runs, broker answers

The http check sends the Host header of the URL (127.0.0.1, api, ws ...): compose adds those names to
ALLOWED_HOSTS of the services it probes.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 5


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect (e.g. the production HTTP -> HTTPS one) is an answer to report, not a link to follow."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def check_http(url: str) -> int:
    request = urllib.request.Request(url, headers={"User-Agent": "docker-healthcheck"})  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
            body = response.read(500)
    except urllib.error.HTTPError as exc:
        print(f"unhealthy: {url} answered {exc.code}: {exc.read(500)!r}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not 200 <= status < 300:
        print(f"unhealthy: {url} answered {status}: {body!r}", file=sys.stderr)
        return 1
    return 0


def _process_running(*needles: bytes) -> bool:
    own = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if all(needle in cmdline for needle in needles):
            return True
    return False


def _broker_reachable(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        import redis

        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)
        return bool(client.ping())
    with socket.create_connection((parts.hostname or "localhost", parts.port or 5672), timeout=TIMEOUT_SECONDS):
        return True


def check_beat() -> int:
    if not _process_running(b"celery", b"beat"):
        print("unhealthy: no celery beat process", file=sys.stderr)
        return 1
    broker = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or ""
    if not broker:
        print("unhealthy: CELERY_BROKER_URL is not set", file=sys.stderr)
        return 1
    try:
        reachable = _broker_reachable(broker)
    except Exception as exc:  # a probe reports failures, it never raises them
        print(f"unhealthy: broker unreachable: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0 if reachable else 1


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "http":
        return check_http(argv[1])
    if argv == ["beat"]:
        return check_beat()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
