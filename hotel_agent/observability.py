"""Logging (structlog JSON), tracing (OpenTelemetry) wiring."""

from __future__ import annotations

import re
from typing import Any

import structlog


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    renderer = structlog.dev.ConsoleRenderer(colors=False) if fmt == "console" else structlog.processors.JSONRenderer()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processor": renderer,
                "foreign_pre_chain": [
                    structlog.contextvars.merge_contextvars,
                    structlog.processors.TimeStamper(fmt="iso"),
                    structlog.stdlib.add_logger_name,
                    structlog.stdlib.add_log_level,
                ],
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "django_structlog": {"handlers": ["console"], "level": level, "propagate": False},
            "celery": {"handlers": ["console"], "level": level, "propagate": False},
            "httpx": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }


# Query parameters that carry a secret: Meta's subscription check sends the verify token in the URL, the web chat's
# history read and websocket its guest token, and django-structlog logs every request line with its query string.
_SECRET_QUERY_PARAM = re.compile(
    r"(?<=[?&])(hub(?:\.|%2e)verify_token|access_token|guest_token|token|password|secret|api_key)=[^&#\s]*",
    re.IGNORECASE,
)
_URL_FIELDS = ("request", "path", "url", "full_path")


def redact_query_secrets(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: ``?hub.verify_token=…`` (and the like) logged as ``[redacted]``."""
    for key in _URL_FIELDS:
        value = event_dict.get(key)
        if isinstance(value, str) and "=" in value:
            event_dict[key] = _SECRET_QUERY_PARAM.sub(r"\1=[redacted]", value)
    return event_dict


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            redact_query_secrets,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


_tracing_configured = False


def configure_tracing() -> None:
    """Instrument Django with OpenTelemetry when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (Jaeger in compose)."""
    global _tracing_configured
    from django.conf import settings

    if _tracing_configured or not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    _tracing_configured = True
