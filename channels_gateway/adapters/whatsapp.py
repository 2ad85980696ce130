"""WhatsApp Business Cloud API: signature check, payload parsing, sending."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from django.conf import settings
from django.core import signing

from channels_gateway.adapters.base import storable as _storable
from channels_gateway.types import (
    OutboundRequest,
    ParsedBatch,
    PayloadError,
    SendError,
    SendResult,
    SignatureError,
    StatusUpdate,
    UnifiedMessage,
)

logger = structlog.get_logger(__name__)

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_TEXT_LENGTH = 4096
# Error codes Meta documents as temporary (CHANNELS.md): retry with backoff.
TRANSIENT_ERROR_CODES = frozenset({"1", "2", "131000", "131016", "130429", "131056"})
MEDIA_KINDS = ("audio", "image", "video", "document", "sticker")
STATUS_MAP = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}


# --- signature ------------------------------------------------------------------------------------------------
def signature_for(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secrets: Iterable[str]) -> None:
    """Constant-time check of ``X-Hub-Signature-256`` over the raw body against every required secret.

    Every secret in ``secrets`` must validate the signature (a batch naming accounts with different app secrets
    cannot be signed by one of them alone). Raises ``SignatureError``.
    """
    if not header:
        raise SignatureError("missing_signature")
    if not header.startswith("sha256=") or len(header) != 71:
        raise SignatureError("invalid_signature")
    required = [s for s in secrets if s]
    if not required:
        raise SignatureError("no_secret_configured")
    for secret in required:
        if not hmac.compare_digest(signature_for(body, secret).encode(), header.encode()):
            raise SignatureError("invalid_signature")


# --- parsing --------------------------------------------------------------------------------------------------
def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PayloadError(message)


_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")  # ASCII digits only ("²".isdigit() is True); 12 digits is year 33658


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    _require(
        isinstance(value, str | int)
        and not isinstance(value, bool)
        and _UNIX_SECONDS.fullmatch(str(value)) is not None,
        "timestamp must be unix seconds",
    )
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError("timestamp out of range") from exc


def _strings(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """The ``keys`` of ``obj`` that hold strings. Meta sends strings there; anything else is dropped rather than
    stored as a value that code reading the attachment (quick-reply ids, captions) does not expect."""
    return {key: obj[key] for key in keys if isinstance(obj.get(key), str)}


def _text_and_attachment(kind: str, msg: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """Return (unified kind, text, attachment) for one WhatsApp message object."""
    if kind == "text":
        text = msg.get("text")
        _require(isinstance(text, dict) and isinstance(text.get("body"), str), "text message without text.body")
        body = text["body"]
        return "text", body, {}
    if kind in MEDIA_KINDS:
        media = msg.get(kind)
        _require(isinstance(media, dict), f"{kind} message without {kind} object")
        flags = {k: media[k] for k in ("voice", "animated") if isinstance(media.get(k), bool)}
        attachment = {**_strings(media, ("id", "mime_type", "sha256", "filename")), **flags}
        caption = media.get("caption") or ""
        return kind, caption if isinstance(caption, str) else "", attachment
    if kind == "interactive":
        interactive = msg.get("interactive")
        _require(isinstance(interactive, dict), "interactive message without interactive object")
        reply_type = interactive.get("type")
        reply = interactive.get(reply_type) if isinstance(reply_type, str) else None
        _require(isinstance(reply, dict), "interactive message without a reply")
        attachment = {"type": reply_type, **_strings(reply, ("id", "title", "description"))}
        return "interactive", attachment.get("title", ""), attachment
    if kind == "button":  # quick reply to a template
        button = msg.get("button")
        _require(isinstance(button, dict), "button message without button object")
        fields = _strings(button, ("text", "payload"))
        return "interactive", fields.get("text", ""), {"type": "button", "payload": fields.get("payload", "")}
    if kind == "location":
        loc = msg.get("location")
        _require(isinstance(loc, dict), "location message without location object")
        lat, lng = loc.get("latitude"), loc.get("longitude")
        _require(isinstance(lat, int | float) and isinstance(lng, int | float), "location without coordinates")
        named = _strings(loc, ("name", "address", "url"))
        attachment = {"latitude": lat, "longitude": lng, **named}
        text = ", ".join(named[k] for k in ("name", "address") if named.get(k))
        return "location", text, attachment
    # unknown / unsupported / reaction / contacts / order / system …: kept, never dropped.
    attachment: dict[str, Any] = {"type": kind}
    if isinstance(msg.get("errors"), list):
        attachment["errors"] = msg["errors"]
    if kind == "reaction" and isinstance(msg.get("reaction"), dict):
        attachment["reaction"] = msg["reaction"]
    return "unsupported", "", attachment


def _parse_message(msg: Any, *, account: str, names: dict[str, str]) -> UnifiedMessage:
    _require(isinstance(msg, dict), "messages[] items must be objects")
    message_id, kind = msg.get("id"), msg.get("type")
    _require(isinstance(message_id, str) and 0 < len(message_id) <= 255, "message without a valid id")
    _require(isinstance(kind, str) and kind != "", "message without a type")
    sender = msg.get("from") or msg.get("from_user_id")
    _require(isinstance(sender, str) and 0 < len(sender) <= 255, "message without a sender")
    unified_kind, text, attachment = _text_and_attachment(kind, msg)
    context = msg.get("context") if isinstance(msg.get("context"), dict) else {}
    return UnifiedMessage(
        channel=CHANNEL,
        account_external_id=account,
        provider_message_id=message_id,
        guest_address=sender,
        guest_name=names.get(sender, ""),
        kind=unified_kind,
        text=text,
        timestamp=_timestamp(msg.get("timestamp")),
        attachment=attachment,
        reply_to_provider_id=context["id"] if isinstance(context.get("id"), str) else "",
        raw=msg,
    )


def _parse_status(status: Any, *, account: str) -> StatusUpdate | None:
    _require(isinstance(status, dict), "statuses[] items must be objects")
    message_id, value = status.get("id"), status.get("status")
    _require(isinstance(message_id, str) and message_id != "", "status without id")
    _require(isinstance(value, str), "status without status")
    mapped = STATUS_MAP.get(value)
    if mapped is None:  # e.g. "deleted", "warning": nothing to move
        logger.info("whatsapp_status_ignored", status=value)
        return None
    errors = status.get("errors") if isinstance(status.get("errors"), list) else []
    first_error = errors[0] if errors and isinstance(errors[0], dict) else {}
    return StatusUpdate(
        channel=CHANNEL,
        account_external_id=account,
        provider_message_id=message_id,
        status=mapped,
        timestamp=_timestamp(status.get("timestamp")),
        recipient=str(status.get("recipient_id") or status.get("recipient_user_id") or ""),
        error_code=str(first_error.get("code", "")),
        error_detail=str(first_error.get("title") or first_error.get("message") or "")[:500],
        sent_message_id=message_id_from_callback(callback)
        if isinstance(callback := status.get("biz_opaque_callback_data"), str)
        else None,
    )


def _finite_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):  # 1e999: no JSON column can store it
        raise ValueError(f"number out of range: {value[:20]}")
    return number


def _reject_constant(value: str) -> None:
    raise ValueError(f"{value} is not valid JSON")


# What can decode to a string the databases refuse: a NUL byte (also what UTF-16/32 bodies have), a ``\u0000`` or
# surrogate escape, or UTF-8 bytes of a surrogate (``json.loads`` decodes bytes with ``surrogatepass``). Raw control
# characters are invalid JSON. A body without any of them decodes to storable strings as it is; a false alarm (an
# escaped backslash before ``u0000``, say) only costs the walk.
_MAYBE_UNSTORABLE = re.compile(rb"\x00|\\u0000|\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def _needs_storable_pass(body: bytes) -> bool:
    return _MAYBE_UNSTORABLE.search(body) is not None


# Built once: ``json.loads`` with hooks builds a decoder (and its scanner) on every call, half the cost of a webhook's
# parse. Bytes are decoded as ``json.loads`` does: UTF-8/16/32 by the first bytes, surrogates passed through.
_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)


def load_json(body: bytes) -> Any:
    """Decode a provider body. Raises ``PayloadError`` for anything that is not plain, storable JSON."""
    try:
        data = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise PayloadError("body is not valid JSON") from exc
    if not _needs_storable_pass(body):
        return data
    try:
        return _storable(data)
    except RecursionError as exc:
        raise PayloadError("body is nested too deeply") from exc


def parse_payload(body: bytes) -> ParsedBatch:
    return parse_document(load_json(body))


def parse_document(data: Any) -> ParsedBatch:
    """``parse_payload`` for a body already decoded by ``load_json``."""
    _require(isinstance(data, dict), "body must be a JSON object")
    _require(data.get("object") == "whatsapp_business_account", "object must be whatsapp_business_account")
    entries = data.get("entry")
    _require(isinstance(entries, list), "entry must be a list")
    batch = ParsedBatch()
    for entry in entries:
        _require(isinstance(entry, dict) and isinstance(entry.get("changes"), list), "entry without changes")
        for change in entry["changes"]:
            _require(isinstance(change, dict) and isinstance(change.get("value"), dict), "change without value")
            if change.get("field") != "messages":
                continue  # other subscribed fields (account updates, templates …) carry no guest messages
            value = change["value"]
            metadata = value.get("metadata")
            _require(isinstance(metadata, dict), "messages change without metadata")
            account = metadata.get("phone_number_id")
            _require(isinstance(account, str) and account != "", "metadata without phone_number_id")
            names: dict[str, str] = {}
            contacts = value.get("contacts", [])
            _require(isinstance(contacts, list), "contacts must be a list")
            for contact in contacts:  # auxiliary: a contact in an unexpected shape only loses the guest's name
                if isinstance(contact, dict):
                    profile = contact.get("profile")
                    name = profile.get("name") if isinstance(profile, dict) else ""
                    for key in ("wa_id", "user_id"):
                        if isinstance(contact.get(key), str):
                            names[contact[key]] = name[:255] if isinstance(name, str) else ""
            messages = value.get("messages", [])
            statuses = value.get("statuses", [])
            _require(isinstance(messages, list) and isinstance(statuses, list), "messages/statuses must be lists")
            batch.messages.extend(_parse_message(m, account=account, names=names) for m in messages)
            for s in statuses:
                update = _parse_status(s, account=account)
                if update is not None:
                    batch.statuses.append(update)
    return batch


def account_ids_in(body: bytes) -> set[str] | None:
    """Best-effort list of the ``phone_number_id``s a body names, to pick signature secrets before full parsing.
    ``None`` when the body is not JSON at all."""
    try:
        data = load_json(body)
    except PayloadError:
        return None
    return account_ids_of(data)


def account_ids_of(data: Any) -> set[str]:
    """``account_ids_in`` for a body already decoded by ``load_json``."""
    ids: set[str] = set()
    if isinstance(data, dict) and isinstance(data.get("entry"), list):
        for entry in data["entry"]:
            changes = entry.get("changes") if isinstance(entry, dict) else None
            for change in changes if isinstance(changes, list) else []:
                value = change.get("value") if isinstance(change, dict) else None
                metadata = value.get("metadata") if isinstance(value, dict) else None
                if isinstance(metadata, dict) and isinstance(metadata.get("phone_number_id"), str):
                    ids.add(metadata["phone_number_id"])
    return ids


# --- sending --------------------------------------------------------------------------------------------------
_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(timeout=httpx.Timeout(settings.WHATSAPP_SEND_TIMEOUT_SECONDS, connect=5.0))
    return _client


# biz_opaque_callback_data (≤ 512 characters, echoed in the statuses of that message): our message id, signed with
# SECRET_KEY, so a status can only confirm a message this installation sent (not one of a staging copy sharing the
# business account, nor an id reused after a restore into another database).
CALLBACK_PREFIX = "hotel-agent:message:"
_CALLBACK_SALT = "channels_gateway.whatsapp.callback"
MAX_CALLBACK_LENGTH = 512


def callback_data_for(message_id: int) -> str:
    return CALLBACK_PREFIX + signing.Signer(salt=_CALLBACK_SALT).sign(str(message_id))


def message_id_from_callback(data: str) -> int | None:
    """Our outbound message id from a status's ``biz_opaque_callback_data``; ``None`` for anything else (another
    app's data, another installation's signature, a tampered value)."""
    if not data.startswith(CALLBACK_PREFIX) or len(data) > MAX_CALLBACK_LENGTH:
        return None
    try:
        value = signing.Signer(salt=_CALLBACK_SALT).unsign(data[len(CALLBACK_PREFIX) :])
    except signing.BadSignature:
        return None
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 18 else None


# Failures where the request cannot have been acted on: nothing (or not all of it) reached Meta. Retry soon.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteTimeout, httpx.WriteError,
             httpx.ProxyError)  # fmt: skip
# The request could not even be built or spoken (a bad base URL, a header value that is not HTTP): no retry helps.
_UNSENDABLE = (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def access_token_for(credentials: dict[str, str]) -> str:
    return credentials.get("access_token") or settings.WHATSAPP_ACCESS_TOKEN


MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_INTERACTIVE_BODY = 1024


def message_content(text: str, options: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """A text message, or reply buttons (at most 3, titles ≤ 20 characters) when there are options to offer."""
    if not options or len(text) > MAX_INTERACTIVE_BODY:
        return {"type": "text", "text": {"preview_url": False, "body": text}}
    buttons = [
        {"type": "reply", "reply": {"id": option_id[:256], "title": title[:MAX_BUTTON_TITLE]}}
        for option_id, title in options[:MAX_BUTTONS]
    ]
    return {
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": text}, "action": {"buttons": buttons}},
    }


class WhatsAppAdapter:
    channel = CHANNEL

    def parse(self, body: bytes) -> ParsedBatch:
        return parse_payload(body)

    def can_send(self, credentials: dict[str, str]) -> bool:
        return bool(access_token_for(credentials))

    def send(self, request: OutboundRequest) -> SendResult:
        token = access_token_for(request.credentials)
        text = request.text
        if len(text) > MAX_TEXT_LENGTH:
            logger.warning("whatsapp_text_truncated", message_id=request.message_id, length=len(text))
            text = text[: MAX_TEXT_LENGTH - 1] + "…"
        url = f"{settings.WHATSAPP_API_BASE_URL.rstrip('/')}/{request.account_external_id}/messages"
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": request.to,
            **message_content(text, request.options),
            "biz_opaque_callback_data": callback_data_for(request.message_id),
        }
        try:
            response = _http().post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        except _UNSENDABLE as exc:
            raise SendError(f"request: {exc!r}", code="bad_request", transient=False) from exc
        except _NOT_SENT as exc:
            code = "timeout" if isinstance(exc, httpx.TimeoutException) else "transport"
            raise SendError(f"{code}: {exc!r}", code=code, transient=True) from exc
        except httpx.RequestError as exc:
            # Read timeout, reset or close mid-answer, an answer that would not decode: Meta may have accepted it.
            code = "timeout" if isinstance(exc, httpx.TimeoutException) else "transport"
            raise SendError(f"{code}, unconfirmed: {exc!r}", code=code, transient=True, ambiguous=True) from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 200:
            try:
                return SendResult(provider_message_id=str(data["messages"][0]["id"]))
            except (KeyError, IndexError, TypeError) as exc:
                raise SendError("200 without messages[0].id", code="bad_response", transient=False) from exc
        error = data.get("error") if isinstance(data, dict) else None
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        detail = str(error.get("message", "")) if isinstance(error, dict) else response.text[:200]
        transient = response.status_code >= 500 or response.status_code == 429 or code in TRANSIENT_ERROR_CODES
        raise SendError(
            f"HTTP {response.status_code}: {detail}"[:500],
            code=code or f"http_{response.status_code}",
            transient=transient,
        )
