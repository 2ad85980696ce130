"""Liveness and readiness probes.

``/health/live`` answers 200 while the process can serve. ``/health/ready`` checks every dependency the service
needs to do its job (database, cache, broker) and answers 503 with a JSON body naming what is down. Non-fatal
checks (registered by other apps, e.g. the PMS) are reported but never turn the answer into a 503.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str = ""


def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return CheckResult(True, connection.vendor)


def check_cache() -> CheckResult:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    value = cache.get(key)
    cache.delete(key)
    if value != "1":
        return CheckResult(False, "cache did not return the value it stored")
    return CheckResult(True, settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1])


def check_broker() -> CheckResult:
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL:
        return CheckResult(True, "eager (no broker)")
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return CheckResult(True, conn.transport.driver_type)


FATAL_CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}
# Other apps add checks that are reported but never make the service unready (e.g. the PMS).
NON_FATAL_CHECKS: dict[str, Callable[[], CheckResult]] = {}


def _run(check: Callable[[], CheckResult]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a probe reports failures, it never raises them
        result = CheckResult(False, f"{type(exc).__name__}: {exc}"[:300])
    return {
        "status": "ok" if result.ok else "down",
        "detail": result.detail,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = {name: _run(check) for name, check in FATAL_CHECKS.items()}
    optional = {name: _run(check) for name, check in NON_FATAL_CHECKS.items()}
    down = sorted(name for name, result in checks.items() if result["status"] != "ok")
    body: dict[str, object] = {"status": "ok" if not down else "unavailable", "checks": checks}
    if optional:
        body["optional"] = optional
    if down:
        body["down"] = down
        logger.warning("readiness_failed", down=down)
    return JsonResponse(body, status=503 if down else 200)
