"""Provider webhooks. Thin: read the raw body, call one service, map domain errors to status codes.

The answers are plain JSON ``HttpResponse``s and DRF's content negotiation is fixed to JSON: Meta sends no
``Accept`` worth negotiating, and the webhook is the hottest path of the app."""

from __future__ import annotations

import json

import structlog
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from channels_gateway.adapters.whatsapp import CHANNEL as WHATSAPP
from channels_gateway.adapters.whatsapp import SIGNATURE_HEADER
from channels_gateway.metrics import webhook_rejected_total, webhook_requests_total
from channels_gateway.services import whatsapp_verify_token_matches, whatsapp_webhook_ingest
from channels_gateway.types import PayloadError, SignatureError
from hotel_agent.middleware import payload_too_large

logger = structlog.get_logger(__name__)

_JSON_RENDERER = JSONRenderer()


def _json(data: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type="application/json")


class WhatsAppWebhookView(APIView):
    """Meta's webhook: GET answers the subscription challenge, POST carries notifications."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []  # the body is read raw: the signature covers the exact bytes
    throttle_classes: list = []

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[JSONRenderer, str]:
        return _JSON_RENDERER, _JSON_RENDERER.media_type

    def get(self, request: Request) -> HttpResponse:
        params = request.query_params
        challenge = params.get("hub.challenge", "")
        if (
            params.get("hub.mode") == "subscribe"
            and challenge
            and whatsapp_verify_token_matches(params.get("hub.verify_token"))
        ):
            return HttpResponse(challenge, content_type="text/plain")
        webhook_rejected_total.labels(channel=WHATSAPP, reason="verification_failed").inc()
        return HttpResponse("Forbidden", status=403, content_type="text/plain")

    def post(self, request: Request) -> HttpResponse:
        webhook_requests_total.labels(channel=WHATSAPP).inc()
        try:
            body = request.body
        except RequestDataTooBig:
            webhook_rejected_total.labels(channel=WHATSAPP, reason="too_large").inc()
            return payload_too_large()
        try:
            result = whatsapp_webhook_ingest(body=body, signature=request.headers.get(SIGNATURE_HEADER))
        except SignatureError as exc:
            webhook_rejected_total.labels(channel=WHATSAPP, reason=str(exc)).inc()
            logger.warning("webhook_signature_rejected", channel=WHATSAPP, reason=str(exc))
            return _json({"error": str(exc)}, status=403)
        except PayloadError as exc:
            webhook_rejected_total.labels(channel=WHATSAPP, reason="malformed").inc()
            logger.warning("webhook_malformed", channel=WHATSAPP, detail=str(exc))
            return _json({"error": "malformed_payload", "detail": str(exc)}, status=400)
        return _json({"status": "ok", **result.as_dict()})
