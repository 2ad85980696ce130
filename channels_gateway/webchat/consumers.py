"""The guest's websocket: ``/ws/chat/<public_key>/?guest_token=…``.

Checks the key, the token's shape and the page's ``Origin`` (the account's ``allowed_origins`` or our own host)
before accepting; then joins only the group of that guest's own open conversation — never a tenant group — and
forwards what the guest may see of it.

Server → browser:
    {"type": "ready", "conversation": "<uuid>" | null}            after connecting and after each "sync"
    {"type": "message", "event": <event id>, "message": {id, conversation, direction, sender, kind, text, status,
                                                         options, created_at}}
    {"type": "status", "event": <event id>, "message": {"id": <message id>, "status": "sent" | …}}
    {"type": "pong"}  /  {"type": "error", "code": "unknown_type"}
Browser → server:
    {"type": "sync"}  the guest's open conversation may have changed (first message, or a new one after staff closed
                      the last): follow the current one.
    {"type": "ping"}
Anything missed while disconnected is read back from ``GET /webchat/<key>/messages/?after=<last message id>``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import structlog
from channels.db import database_sync_to_async

from channels_gateway.webchat import services
from conversations.events import conversation_group
from hotel_agent.websocket import TolerantJsonWebsocketConsumer

logger = structlog.get_logger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_FORBIDDEN = 4403
FORWARDED_TYPES = ("message.created", "message.status")


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return ""


class WebChatConsumer(TolerantJsonWebsocketConsumer):
    conversation_id: str | None = None

    async def connect(self) -> None:
        public_key = self.scope["url_route"]["kwargs"].get("public_key", "")
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        guest_token = (query.get("guest_token") or [""])[0]
        account = await database_sync_to_async(services.webchat_account_resolve)(public_key)
        if account is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        origin = _header(self.scope, b"origin")
        if not services.TOKEN_PATTERN.match(guest_token) or not services.webchat_origin_allowed(
            account=account, origin=origin, own_host=_header(self.scope, b"host")
        ):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.account = account
        self.guest_token = guest_token
        await self.accept()
        await self._follow_current_conversation()

    async def disconnect(self, code: int) -> None:
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(conversation_group(self.conversation_id), self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "sync":
            await self._follow_current_conversation()
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_type"})

    async def _follow_current_conversation(self) -> None:
        """Join the group of the guest's own open conversation (leaving a previous one); authorized by construction:
        the conversation is looked up through this account and this guest token."""
        current = await database_sync_to_async(services.webchat_guest_conversation)(
            account=self.account, guest_token=self.guest_token
        )
        current_id = str(current) if current else None
        if current_id != self.conversation_id:
            if self.conversation_id is not None:
                await self.channel_layer.group_discard(conversation_group(self.conversation_id), self.channel_name)
            if current_id is not None:
                await self.channel_layer.group_add(conversation_group(current_id), self.channel_name)
            self.conversation_id = current_id
        await self.send_json({"type": "ready", "conversation": current_id})

    async def event_forward(self, message: dict[str, Any]) -> None:
        event = message.get("event") or {}
        if event.get("conversation") != self.conversation_id:
            return
        if event.get("type") == "conversation.moved":  # closed by staff while the guest wrote: follow them along
            await self._follow_current_conversation()
            return
        if event.get("type") not in FORWARDED_TYPES:
            return
        payload = event.get("payload") or {}
        if not services.guest_visible(payload):
            return
        if event["type"] == "message.created":
            await self.send_json(
                {"type": "message", "event": event.get("id"), "message": services.public_message(payload)}
            )
        else:
            await self.send_json(
                {
                    "type": "status",
                    "event": event.get("id"),
                    "message": {"id": payload.get("id"), "status": payload.get("status")},
                }
            )
