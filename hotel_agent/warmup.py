"""Process start-up: load what the first guest message would otherwise wait for (the NLU model) where messages are
answered, then move everything loaded so far out of the garbage collector's way.

Why the freeze: CPython's full (generation 2) collection walks every tracked object. A web worker holds ~140,000 of
them after start-up (Django, DRF, the app) and ~205,000 once the NLU model is loaded; one full collection took
110 ms and 194 ms of CPU on this 2-core machine, and 250–625 ms of wall time in loaded gunicorn workers (measured
with ``gc.callbacks``, 2026-12-07): a request that triggers it waits that long. Those objects live as long as the
process, so ``gc.freeze()`` puts them in the permanent generation, and later collections only walk what requests
allocate. ``GC_FREEZE_AFTER_STARTUP=false`` turns it off.

Where the model is loaded: Celery workers and daphne (``make run``: eager Celery, the request answers the guest)
always; gunicorn's web workers only when Celery runs eagerly, since with a broker they never answer a guest and the
model would cost them ~65,000 objects and ~60 MB each for nothing (a request that does need it still loads it
lazily).
"""

from __future__ import annotations

import gc
import threading
import time

import structlog

from hotel_agent.env import env_bool

logger = structlog.get_logger(__name__)


def _import_urlconf() -> None:
    """Django imports the URLconf (every view module) on the first request; do it now, so it is frozen too."""
    try:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 (the property import is the point)
    except Exception:  # the first request raises it properly
        logger.exception("urlconf_warmup_failed")


def freeze_startup_heap(*, reason: str) -> int:
    """Collect once, then freeze what survives (start-up objects) so full collections no longer walk it."""
    if not env_bool("GC_FREEZE_AFTER_STARTUP", True):
        return 0
    started = time.perf_counter()
    _import_urlconf()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info(
        "gc_startup_heap_frozen", reason=reason, objects=frozen, ms=round((time.perf_counter() - started) * 1000, 1)
    )
    return frozen


def _load_then_freeze() -> None:
    try:
        from conversations.agent.nlu.training import load_models

        load_models()
    except Exception:  # the first message loads it instead; never break start-up
        logger.exception("nlu_warmup_failed")
    freeze_startup_heap(reason="nlu_loaded")


def warm_up_in_background() -> None:
    """Load the NLU model in a thread (start-up is not delayed), then freeze the start-up heap."""
    threading.Thread(target=_load_then_freeze, name="nlu-warmup", daemon=True).start()


def warm_up_web_worker() -> None:
    """gunicorn's workers: the model only if this process answers guests (eager Celery); freeze either way."""
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        warm_up_in_background()
    else:
        freeze_startup_heap(reason="web_worker_ready")
