"""Guest web chat: public keys, allowed origins, guest messages and history.

A web chat is a ``ChannelAccount`` with ``channel="webchat"``. Its public key (embedded in the hotel's pages, so not
a secret) is the account's ``external_id`` and is also kept as ``credentials["public_key"]``;
``credentials["allowed_origins"]`` lists the sites that may embed it ("https://a.com,https://b.com").

A guest is identified by a random ``guest_token`` the browser keeps in localStorage. Knowing the token is what lets
a browser read the conversation, so every read goes through the account *and* the token, and the token itself is
never stored: ``Guest.address`` on the ``webchat`` channel is ``guest_address(token)``, a SHA-256 digest (staff see
addresses in the console and the admin; what they see must not let them, or a leaked backup, act as the guest).
Messages take the same path as WhatsApp (``conversations.services.inbound_record`` → ``process_inbound`` → bot reply
→ ``send_outbound`` through ``WebChatAdapter``); the provider message id ``webchat.<address>.<client_message_id>``
makes a retried POST a duplicate, never a second message.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from channels_gateway.adapters.webchat import CHANNEL
from channels_gateway.types import UnifiedMessage
from conversations import events
from conversations.models import Conversation, Guest, Message, MessageKind, Sender
from conversations.services import OPEN_STATUSES, inbound_record
from tenants.models import ChannelAccount, ChannelType, Tenant
from tenants.services import ResolvedAccount, tenant_resolve

logger = structlog.get_logger(__name__)

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # public keys and guest tokens
CLIENT_MESSAGE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT_LENGTH = 2000
MAX_NAME_LENGTH = 80
HISTORY_LIMIT = 200
DEFAULT_GUEST_NAME = "Web guest"
# Requests per guest token and minute (fixed window in the cache). Posting stays under the flood limit's spirit:
# a guest is told to slow down (429) rather than having messages stored and silently left unanswered.
# Not above the gateway's flood limit (GUEST_FLOOD_MAX_PER_MINUTE, 20): past it messages are stored but unanswered.
POST_RATE_PER_MINUTE = 20
READ_RATE_PER_MINUTE = 120
DEMO_ALLOWED_ORIGINS = ("http://localhost:8000", "http://127.0.0.1:8000")

# What the browser sees of a message: no NLU, no flags, no provider ids.
PUBLIC_MESSAGE_FIELDS = ("id", "conversation", "direction", "sender", "kind", "text", "status", "options", "created_at")


GUEST_ADDRESS_PREFIX = "wc_"


def guest_address(guest_token: str) -> str:
    """What the database keeps for the guest with this token: ``wc_`` + the unpadded URL-safe base64 of its SHA-256
    (46 characters). Unkeyed on purpose: the token carries 192 random bits, so the digest cannot be walked back, and
    a rotated ``SECRET_KEY`` must not orphan every web-chat guest."""
    digest = hashlib.sha256(guest_token.encode("utf-8")).digest()
    return GUEST_ADDRESS_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


# --- accounts --------------------------------------------------------------------------------------------------
def webchat_account_resolve(public_key: str) -> ResolvedAccount | None:
    """The active web chat account with this public key (cached through ``tenant_resolve``), else ``None``."""
    if not isinstance(public_key, str) or not TOKEN_PATTERN.match(public_key):
        return None
    return tenant_resolve(channel=CHANNEL, external_id=public_key)


def webchat_account_for_tenant(*, tenant: Tenant) -> ChannelAccount | None:
    """The hotel's first active web chat (the hosted page's)."""
    return (
        ChannelAccount.objects.filter(tenant=tenant, channel=ChannelType.WEBCHAT, is_active=True).order_by("pk").first()
    )


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or ``None`` when it is not a web origin."""
    value = (value or "").strip()
    if not value or value == "null":
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = 80 if parts.scheme == "http" else 443
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def parse_allowed_origins(value: str | Iterable[str]) -> list[str]:
    """Comma- or space-separated origins → normalized, deduplicated list. Raises ``ValueError`` for a bad entry."""
    values = [value] if isinstance(value, str) else list(value)
    origins: list[str] = []
    for item in (part for v in values for part in v.replace(",", " ").split()):
        origin = normalize_origin(item)
        if origin is None or urlsplit(item).path not in ("", "/") or urlsplit(item).query:
            raise ValueError(f'"{item}" is not an origin such as https://www.example.com')
        if origin not in origins:
            origins.append(origin)
    return origins


def webchat_origin_allowed(*, account: ResolvedAccount, origin: str, own_host: str) -> bool:
    """Whether a browser page at ``origin`` may use this web chat: one of the account's ``allowed_origins``, or our
    own host (the hosted chat page), compared by host and port."""
    normalized = normalize_origin(origin)
    if normalized is None:
        return False
    if own_host and urlsplit(normalized).netloc == own_host.lower():
        return True
    try:
        allowed = parse_allowed_origins(account.credential("allowed_origins"))
    except ValueError:  # a hand-edited account with a bad entry: the valid entries still count
        allowed = [o for o in map(normalize_origin, account.credential("allowed_origins").split(",")) if o]
    return normalized in allowed


def webchat_account_create(
    *, tenant: Tenant, allowed_origins: str | Iterable[str] = (), display_name: str = ""
) -> ChannelAccount:
    """A new web chat for the hotel with a fresh public key. Raises ``ValueError`` for a malformed origin."""
    origins = parse_allowed_origins(allowed_origins)
    public_key = secrets.token_urlsafe(18)  # 24 URL-safe characters
    account = ChannelAccount(
        tenant=tenant,
        channel=ChannelType.WEBCHAT,
        external_id=public_key,
        display_name=display_name or f"{tenant.name} web chat",
        credentials={"public_key": public_key, "allowed_origins": ",".join(origins)},
    )
    account.full_clean(validate_unique=False, validate_constraints=False)
    account.save()
    logger.info("webchat_account_created", tenant=tenant.slug, origins=len(origins))
    return account


def webchat_seed_demo(tenant: Tenant) -> ChannelAccount:
    """The demo hotel's web chat (idempotent): reachable from the hosted page and from a local test page."""
    with transaction.atomic():
        account = webchat_account_for_tenant(tenant=tenant)
        if account is None:
            account = webchat_account_create(
                tenant=tenant, allowed_origins=DEMO_ALLOWED_ORIGINS, display_name="Demo web chat"
            )
    return account


def embed_snippet(*, base_url: str, public_key: str) -> str:
    return f'<script src="{base_url.rstrip("/")}/webchat/widget.js" data-key="{public_key}" async></script>'


# --- rate limits -----------------------------------------------------------------------------------------------
def webchat_rate_limited(*, account: ResolvedAccount, guest_token: str, action: str, per_minute: int) -> int:
    """Count one request; return 0 when allowed, else the seconds until the window turns.

    The limit holds over this minute and the previous one together, so no rolling 60 s ever lets more than
    ``per_minute`` through. Fixed windows alone let twice that pass around the turn of a minute, and for posts the
    excess would then be stored but flagged as a flood (never answered) instead of refused with a 429."""
    now = time.time()
    window = int(now // 60)
    prefix = f"webchat:rate:{action}:{account.account_id}:{guest_address(guest_token)}:"
    key = f"{prefix}{window}"
    cache.add(key, 0, 130)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 130)
        count = 1
    if count + (cache.get(f"{prefix}{window - 1}") or 0) <= per_minute:
        return 0
    with contextlib.suppress(ValueError):
        cache.decr(key)  # a refused request is not counted: waiting the Retry-After is enough
    return max(1, 60 - int(now % 60))


def webchat_post_rate_per_minute() -> int:
    """Never above the flood limit: what the bot would not answer is refused up front."""
    return min(POST_RATE_PER_MINUTE, settings.GUEST_FLOOD_MAX_PER_MINUTE)


# --- guest messages ---------------------------------------------------------------------------------------------
def new_guest_token() -> str:
    return secrets.token_urlsafe(24)


def public_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The browser's view of a ``conversations.events.message_payload``."""
    return {key: payload.get(key) for key in PUBLIC_MESSAGE_FIELDS}


def guest_visible(payload: dict[str, Any]) -> bool:
    """Staff's internal notes (and system messages) never reach the guest."""
    return not payload.get("is_internal") and payload.get("sender") != Sender.SYSTEM


def _guest_messages():
    return Message.objects.guest_visible().exclude(sender=Sender.SYSTEM)


@dataclass(frozen=True)
class GuestMessageResult:
    message: dict[str, Any]
    conversation_id: uuid.UUID
    created: bool


def _clean_text(text: str) -> str:
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def webchat_guest_message(
    *, account: ResolvedAccount, guest_token: str, client_message_id: str, text: str, guest_name: str = ""
) -> GuestMessageResult:
    """Record one guest message through the gateway pipeline (the bot answers once it commits). Idempotent on
    ``(guest_token, client_message_id)``: a retry returns the stored message with ``created=False``."""
    if not TOKEN_PATTERN.match(guest_token) or not CLIENT_MESSAGE_ID_PATTERN.match(client_message_id):
        raise ValueError("malformed guest token or client message id")
    address = guest_address(guest_token)
    provider_message_id = f"webchat.{address}.{client_message_id}"
    name = guest_name.strip()[:MAX_NAME_LENGTH]
    if not name and not Guest.objects.filter(tenant_id=account.tenant_id, channel=CHANNEL, address=address).exists():
        name = DEFAULT_GUEST_NAME
    unified = UnifiedMessage(
        channel=CHANNEL,
        account_external_id=account.external_id,
        provider_message_id=provider_message_id,
        guest_address=address,
        guest_name=name,
        kind=MessageKind.TEXT,
        text=_clean_text(text),
        timestamp=None,
        raw={"client_message_id": client_message_id},
    )
    recorded = inbound_record(account=account, messages=[unified])
    message = Message.objects.for_tenant(account.tenant_id).get(
        channel_account_id=account.account_id, provider_message_id=provider_message_id
    )
    logger.info(
        "webchat_guest_message",
        account_id=account.account_id,
        message_id=message.pk,
        duplicate=bool(recorded.duplicates),
        flagged=bool(recorded.flagged),
    )
    return GuestMessageResult(
        message=public_message(events.message_payload(message)),
        conversation_id=message.conversation_id,
        created=not recorded.duplicates,
    )


# --- reads -------------------------------------------------------------------------------------------------------
def webchat_guest_conversation(*, account: ResolvedAccount, guest_token: str) -> uuid.UUID | None:
    """The guest's open conversation on this web chat (the one its websocket follows), if any."""
    return (
        Conversation.objects.for_tenant(account.tenant_id)
        .filter(
            channel_account_id=account.account_id,
            guest__channel=CHANNEL,
            guest__address=guest_address(guest_token),
            status__in=OPEN_STATUSES,
        )
        .values_list("pk", flat=True)
        .first()
    )


@dataclass
class History:
    conversation_id: uuid.UUID | None
    hotel_name: str
    hotel_language: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False


def webchat_history(*, account: ResolvedAccount, guest_token: str, after: int = 0) -> History:
    """What the guest's browser may show: its own messages and every answer on this web chat (all its
    conversations here, closed ones included), oldest first, internal notes never. ``after=0`` gives the latest
    ``HISTORY_LIMIT``; ``after=<id>`` gives the next ones (``more`` tells to ask again). An unknown token reads as
    an empty history (never another guest's)."""
    hotel = Tenant.objects.filter(pk=account.tenant_id).values("name", "default_language").first() or {}
    history = History(
        conversation_id=None,
        hotel_name=hotel.get("name", ""),
        hotel_language=hotel.get("default_language", "") or settings.LANGUAGE_CODE,
    )
    guest_id = (
        Guest.objects.for_tenant(account.tenant_id)
        .filter(channel=CHANNEL, address=guest_address(guest_token))
        .values_list("pk", flat=True)
        .first()
    )
    if guest_id is None:
        return history
    history.conversation_id = webchat_guest_conversation(account=account, guest_token=guest_token)
    query = (
        _guest_messages()
        .for_tenant(account.tenant_id)
        .filter(conversation__guest_id=guest_id, conversation__channel_account_id=account.account_id)
    )
    if after > 0:
        rows = list(query.filter(pk__gt=after).order_by("pk")[: HISTORY_LIMIT + 1])
        history.more = len(rows) > HISTORY_LIMIT
        rows = rows[:HISTORY_LIMIT]
    else:
        rows = list(query.order_by("-pk")[:HISTORY_LIMIT])[::-1]
    history.messages = [public_message(events.message_payload(m)) for m in rows]
    return history
