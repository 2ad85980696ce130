"""Project middleware: correlation ids and request body limits."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

CORRELATION_HEADER = "X-Correlation-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class CorrelationIdMiddleware:
    """Give every request a correlation id (trusting a well-formed incoming ``X-Correlation-ID``), bind it to the
    structlog context (django-structlog carries it into Celery tasks) and return it as a response header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        correlation_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.correlation_id = correlation_id  # type: ignore[attr-defined]
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")
        response[CORRELATION_HEADER] = correlation_id
        return response


class BodySizeLimitMiddleware:
    """413 for a declared body over the limit, before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return JsonResponse({"error": "invalid_content_length"}, status=400)
        if length > settings.WEBHOOK_MAX_BODY_BYTES:
            return payload_too_large()
        return self.get_response(request)


def payload_too_large() -> JsonResponse:
    return JsonResponse({"error": "payload_too_large", "max_bytes": settings.WEBHOOK_MAX_BODY_BYTES}, status=413)
