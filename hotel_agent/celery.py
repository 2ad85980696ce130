"""Celery application: ``celery -A hotel_agent worker``."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import setup_logging, worker_process_init
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotel_agent.settings")

app = Celery("hotel_agent")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(DjangoStructLogInitStep)
app.autodiscover_tasks()


@worker_process_init.connect
def _init_worker_process(**_: object) -> None:
    from hotel_agent.observability import configure_tracing
    from hotel_agent.warmup import warm_up_in_background

    configure_tracing()
    warm_up_in_background()


@setup_logging.connect
def _setup_logging(**_: object) -> None:
    """Use the project's structlog JSON logging in workers instead of Celery's own handlers."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
