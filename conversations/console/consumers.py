"""Staff console websocket (``/ws/console/``).

A connection belongs to one staff member and the hotel active in their session; anything else is closed with
4403 before joining any group. The tenant group (``tenant.<id>.console``) is joined only after that check; a
conversation group only after the conversation is proven to belong to the same hotel. Events carry ids: a
reconnecting console sends ``{"type": "resume", "after": <last id>}`` and gets exactly what it missed; ids seen
on this connection are remembered so a replayed event and the same event arriving live are sent once.

Every ``CONSOLE_HEARTBEAT_SECONDS`` (25 s) the server sends a heartbeat and re-checks that the staff member still
belongs to the hotel (membership active, user active, session not logged out, password unchanged since the login); if
not, it closes with 4403.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from importlib import import_module
from typing import Any
from uuid import UUID

import structlog
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from conversations.console import selectors
from conversations.events import REPLAY_LIMIT, conversation_group, events_since, tenant_group
from hotel_agent.websocket import TolerantJsonWebsocketConsumer
from tenants.models import Tenant
from tenants.selectors import active_tenant_for, staff_membership

logger = structlog.get_logger(__name__)

CLOSE_FORBIDDEN = 4403
# A reconnect that missed more than this many events is told to reload instead of replaying them one by one.
MAX_REPLAY_PAGES = 10
SEEN_IDS_KEPT = 5000


def heartbeat_seconds() -> float:
    return float(getattr(settings, "CONSOLE_HEARTBEAT_SECONDS", 25))


@database_sync_to_async
def _active_tenant_id(user: Any, session: Any) -> int | None:
    tenant = active_tenant_for(user=user, session=session)
    return tenant.pk if tenant is not None else None


@database_sync_to_async
def _still_authorized(*, user_id: int, session_key: str | None, session_hash: str, tenant_id: int) -> bool:
    """The user is still active, their session still logged in as them, and their membership still active."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or session_key is None:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if str(store.get(SESSION_KEY)) != str(user_id):
        return False
    stored_hash = store.get(HASH_SESSION_KEY, "")
    if session_hash and not constant_time_compare(stored_hash, session_hash):
        return False
    # As Django's own session check: a password change (or reset) invalidates the session's hash, and so the console.
    if not _hash_is_current(user, stored_hash):
        return False
    return staff_membership(user=user, tenant=tenant_id) is not None


def _hash_is_current(user: Any, stored_hash: str) -> bool:
    if not hasattr(user, "get_session_auth_hash"):
        return True
    if stored_hash and constant_time_compare(stored_hash, user.get_session_auth_hash()):
        return True
    fallbacks = getattr(user, "get_session_auth_fallback_hash", None)  # SECRET_KEY_FALLBACKS during a key rotation
    return (
        bool(stored_hash)
        and fallbacks is not None
        and any(constant_time_compare(stored_hash, fallback) for fallback in fallbacks())
    )


@database_sync_to_async
def _conversation_visible(*, user: Any, tenant_id: int, conversation_id: UUID) -> bool:
    """Same rule as the API: the conversation of the active hotel, else "not found" (absent and not yours alike)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    try:
        selectors.conversation_get_for_staff(user=user, tenant=tenant, conversation_id=conversation_id)
    except Http404:
        return False
    return True


@database_sync_to_async
def _events_since(*, tenant_id: int, after: int) -> list[dict[str, Any]]:
    return events_since(tenant_id=tenant_id, after=after)


@database_sync_to_async
def _session_identity(session: Any) -> tuple[str | None, str]:
    return session.session_key, session.get(HASH_SESSION_KEY, "")


class ConsoleConsumer(TolerantJsonWebsocketConsumer):
    tenant_id: int | None = None
    user_id: int | None = None

    async def connect(self) -> None:
        self.groups_joined: set[str] = set()
        self.seen: OrderedDict[int, None] = OrderedDict()
        self.heartbeat_task: asyncio.Task | None = None
        user = self.scope.get("user")
        session = self.scope.get("session")
        tenant_id = None
        if user is not None and getattr(user, "is_authenticated", False) and session is not None:
            tenant_id = await _active_tenant_id(user, session)
        # Accept then close, so the browser sees 4403 (a refused handshake only shows as 1006) and stops retrying.
        await self.accept()
        if tenant_id is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.tenant_id = tenant_id
        self.user_id = user.pk
        self.session_key, self.session_hash = await _session_identity(session)
        await self._join(tenant_group(tenant_id))
        self.heartbeat_task = asyncio.create_task(self._heartbeat())
        await self.send_json({"type": "hello", "tenant": tenant_id, "heartbeat": heartbeat_seconds()})

    async def disconnect(self, code: int) -> None:
        task = getattr(self, "heartbeat_task", None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        await self._leave_all()

    async def _leave_all(self) -> None:
        """Stop receiving anything: no event reaches a connection once it is no longer authorized."""
        self.tenant_id = None
        groups, self.groups_joined = getattr(self, "groups_joined", set()), set()
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    # --- client → server ---------------------------------------------------------------------------------------
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.tenant_id is None:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        kind = kind if isinstance(kind, str) else None  # {"type": []} is not a key
        handler = {"resume": self._resume, "subscribe": self._subscribe, "ping": self._ping}.get(kind)
        if handler is None:
            await self.send_json({"type": "error", "code": "bad_request"})
            return
        await handler(content)

    async def _ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def _resume(self, content: dict[str, Any]) -> None:
        after = content.get("after")
        if isinstance(after, str) and after.isascii() and after.isdigit():
            after = int(after)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            await self.send_json({"type": "error", "code": "bad_request"})
            return
        # Consumer handlers run one at a time: live events that arrive meanwhile wait in the channel and are
        # deduplicated against the replay when their turn comes.
        for _ in range(MAX_REPLAY_PAGES):
            events = await _events_since(tenant_id=self.tenant_id, after=after)
            for event in events:
                await self._forward(event)
            if len(events) < REPLAY_LIMIT:
                await self.send_json({"type": "resumed", "after": after})
                return
            after = events[-1]["id"]
        await self.send_json({"type": "resync"})  # too far behind: reload the page's data from the API

    async def _subscribe(self, content: dict[str, Any]) -> None:
        raw = content.get("conversation")
        try:
            conversation_id = UUID(str(raw))
        except ValueError:
            conversation_id = None
        if conversation_id is None or not await _conversation_visible(
            user=self.scope["user"], tenant_id=self.tenant_id, conversation_id=conversation_id
        ):
            await self.send_json({"type": "error", "code": "not_found", "conversation": raw})
            return
        await self._join(conversation_group(conversation_id))
        await self.send_json({"type": "subscribed", "conversation": str(conversation_id)})

    # --- server → client ---------------------------------------------------------------------------------------
    async def event_forward(self, message: dict[str, Any]) -> None:
        await self._forward(message["event"])

    async def _forward(self, event: dict[str, Any]) -> None:
        event_id = event.get("id")
        if self.tenant_id is None or event_id in self.seen:
            return
        self.seen[event_id] = None
        if len(self.seen) > SEEN_IDS_KEPT:
            self.seen.popitem(last=False)
        await self.send_json({"type": "event", "event": event})

    async def _heartbeat(self) -> None:
        interval = heartbeat_seconds()
        try:
            while True:
                await asyncio.sleep(interval)
                allowed = await _still_authorized(
                    user_id=self.user_id,
                    session_key=self.session_key,
                    session_hash=self.session_hash,
                    tenant_id=self.tenant_id,
                )
                if not allowed:
                    logger.info("console_ws_revoked", user_id=self.user_id, tenant_id=self.tenant_id)
                    await self._leave_all()
                    await self.close(code=CLOSE_FORBIDDEN)
                    return
                await self.send_json({"type": "heartbeat", "at": timezone.now().isoformat()})
        except asyncio.CancelledError:
            pass
