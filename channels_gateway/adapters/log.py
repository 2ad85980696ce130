"""The sender used when a channel has no credentials (the ``make run`` default): it logs the reply."""

from __future__ import annotations

import uuid

import structlog

from channels_gateway.types import OutboundRequest, SendResult

logger = structlog.get_logger(__name__)


class LogSender:
    channel = "log"

    def send(self, request: OutboundRequest) -> SendResult:
        provider_id = f"log.{uuid.uuid4().hex}"
        logger.info(
            "outbound_message_logged",
            message_id=request.message_id,
            account=request.account_external_id,
            to=request.to,
            text=request.text,
            provider_message_id=provider_id,
        )
        return SendResult(provider_message_id=provider_id)
