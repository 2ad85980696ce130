"""Guest web chat: the public messages API (origins, idempotency, validation, rate limits, history, cross-tenant),
the hosted page and script, the operator command, and the guest websocket (its own conversation only).

pytest-asyncio is not installed: websocket tests are sync and drive one async scenario with ``async_to_sync``.
"""

from __future__ import annotations

import io
import json
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, TestCase

from channels_gateway.adapters.registry import sender_for
from channels_gateway.adapters.webchat import WebChatAdapter
from channels_gateway.types import OutboundRequest
from channels_gateway.webchat import services
from channels_gateway.webchat.routing import with_webchat
from conversations.events import conversation_group, publish_on_commit
from conversations.models import (
    Conversation,
    ConversationEvent,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Guest,
    Message,
    Sender,
)
from hotel_agent.asgi import application
from tenants.models import ChannelAccount, ChannelType
from tests.factories import TenantFactory

ORIGIN_A = "https://www.hotel-a.example"
TIMEOUT = 3


# --- helpers --------------------------------------------------------------------------------------------------------
def webchat_account(tenant, *, origins: str = ORIGIN_A) -> ChannelAccount:
    return services.webchat_account_create(tenant=tenant, allowed_origins=origins)


def token() -> str:
    return services.new_guest_token()


def post(client: Client, key: str, body: dict | str, *, origin: str | None = ORIGIN_A):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    data = body if isinstance(body, str) else json.dumps(body)
    with TestCase.captureOnCommitCallbacks(execute=True):  # the bot answers once the message commits
        return client.post(f"/webchat/{key}/messages/", data=data, content_type="application/json", **headers)


def history(client: Client, key: str, guest_token: str, *, after: int = 0, origin: str | None = ORIGIN_A):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.get(f"/webchat/{key}/messages/", {"guest_token": guest_token, "after": after}, **headers)


def say(client: Client, key: str, guest_token: str, text: str = "Hola", cid: str | None = None):
    return post(client, key, {"client_message_id": cid or uuid.uuid4().hex, "text": text, "guest_token": guest_token})


@pytest.fixture
def account(tenant):
    return webchat_account(tenant)


@pytest.fixture
def other_account(db):
    other = TenantFactory(slug="hotel-b", name="Hotel B", default_language="en")
    return webchat_account(other, origins="https://hotel-b.example")


# --- adapter --------------------------------------------------------------------------------------------------------
def test_adapter_sends_nothing_and_returns_a_webchat_provider_id():
    sender = sender_for(ChannelType.WEBCHAT, {})
    assert isinstance(sender, WebChatAdapter)
    result = sender.send(OutboundRequest(message_id=1, account_external_id="k", to="t", text="hi"))
    assert result.provider_message_id.startswith("webchat.")


# --- posting and history --------------------------------------------------------------------------------------------
def test_guest_message_is_stored_answered_and_in_history(client, account, greeting_nlu):
    guest_token = token()

    response = say(client, account.external_id, guest_token, "Hola, buenos días")

    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == ORIGIN_A
    body = response.json()
    assert body["guest_token"] == guest_token and body["created"] is True
    assert body["message"]["direction"] == "in" and body["message"]["text"] == "Hola, buenos días"
    guest = Guest.objects.get(channel=ChannelType.WEBCHAT, address=services.guest_address(guest_token))
    assert guest.tenant_id == account.tenant_id and guest.display_name == "Web guest"
    reply = Message.objects.get(direction=Direction.OUTBOUND)
    assert reply.status == DeliveryStatus.SENT and reply.provider_message_id.startswith("webchat.")

    listed = history(client, account.external_id, guest_token).json()

    assert [(m["direction"], m["sender"]) for m in listed["messages"]] == [("in", "guest"), ("out", "bot")]
    assert listed["messages"][1]["id"] == reply.pk and listed["messages"][1]["status"] == "sent"
    assert listed["conversation"] == body["conversation"]
    assert listed["hotel"] == {"name": "Hotel Sol y Mar", "language": "es"}
    assert set(listed["messages"][0]) == set(services.PUBLIC_MESSAGE_FIELDS)  # no nlu, flags or provider ids


def test_retried_post_is_one_message_and_one_reply(client, account, greeting_nlu):
    guest_token, cid = token(), str(uuid.uuid4())

    first = say(client, account.external_id, guest_token, "Hola", cid)
    again = say(client, account.external_id, guest_token, "Hola", cid)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False and again.json()["message"]["id"] == first.json()["message"]["id"]
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1


def test_same_token_keeps_the_conversation_and_a_new_one_after_closing(client, account, greeting_nlu):
    guest_token = token()
    first = say(client, account.external_id, guest_token).json()["conversation"]
    assert say(client, account.external_id, guest_token).json()["conversation"] == first
    Conversation.objects.filter(pk=first).update(status=ConversationStatus.CLOSED)

    third = say(client, account.external_id, guest_token).json()["conversation"]

    assert third != first
    listed = history(client, account.external_id, guest_token).json()
    assert listed["conversation"] == third
    assert len(listed["messages"]) == 6  # the closed conversation's messages stay visible to the guest


def test_history_after_returns_only_newer_messages(client, account, greeting_nlu):
    guest_token = token()
    say(client, account.external_id, guest_token)
    last_id = history(client, account.external_id, guest_token).json()["messages"][-1]["id"]
    say(client, account.external_id, guest_token, "Otra cosa")

    newer = history(client, account.external_id, guest_token, after=last_id).json()["messages"]

    assert [m["direction"] for m in newer] == ["in", "out"] and all(m["id"] > last_id for m in newer)


def test_history_hides_internal_notes_and_system_messages(client, account, greeting_nlu):
    guest_token = token()
    say(client, account.external_id, guest_token)
    conversation = Conversation.objects.get()
    common = {"tenant_id": conversation.tenant_id, "conversation": conversation, "channel_account": account}
    Message.objects.create(**common, direction=Direction.OUTBOUND, sender=Sender.SYSTEM, text="sys", status="sent")
    Message.objects.create(
        **common, direction=Direction.OUTBOUND, sender=Sender.STAFF, is_internal=True, text="nota", status="internal"
    )

    texts = [m["text"] for m in history(client, account.external_id, guest_token).json()["messages"]]

    assert "sys" not in texts and "nota" not in texts and len(texts) == 2


def test_server_issues_a_guest_token_when_none_is_sent(client, account, greeting_nlu):
    response = post(client, account.external_id, {"client_message_id": "abc", "text": "Hola"})

    assert response.status_code == 201
    issued = response.json()["guest_token"]
    assert services.TOKEN_PATTERN.match(issued)
    assert Guest.objects.filter(address=services.guest_address(issued)).exists()


def test_guest_name_is_kept_when_given(client, account, greeting_nlu):
    guest_token = token()
    body = {"client_message_id": "n1", "text": "Hola", "guest_token": guest_token, "name": "Lucía"}
    post(client, account.external_id, body)
    say(client, account.external_id, guest_token)

    assert Guest.objects.get(address=services.guest_address(guest_token)).display_name == "Lucía"


# --- refusals -------------------------------------------------------------------------------------------------------
def test_unknown_or_inactive_key_is_404_and_stores_nothing(client, account):
    guest_token = token()
    assert say(client, "x" * 24, guest_token).status_code == 404
    assert history(client, "x" * 24, guest_token).status_code == 404
    assert say(client, "bad key!", guest_token).status_code == 404
    account.is_active = False
    account.save()
    assert say(client, account.external_id, guest_token).status_code == 404
    assert not Message.objects.exists() and not Guest.objects.exists()


@pytest.mark.parametrize("origin", ["https://evil.example", "http://www.hotel-a.example", "null", "garbage"])
def test_disallowed_origin_is_403_without_cors_and_stores_nothing(client, account, origin):
    response = post(client, account.external_id, {"client_message_id": "c1", "text": "Hola"}, origin=origin)

    assert response.status_code == 403 and response.json()["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert history(client, account.external_id, token(), origin=origin).status_code == 403
    assert not Message.objects.exists()


def test_own_host_is_always_allowed_and_preflight_answers_allowed_origins_only(client, account, greeting_nlu):
    own = post(client, account.external_id, {"client_message_id": "o", "text": "Hola"}, origin="http://testserver")
    assert own.status_code == 201

    allowed = client.options(f"/webchat/{account.external_id}/messages/", HTTP_ORIGIN=ORIGIN_A)
    refused = client.options(f"/webchat/{account.external_id}/messages/", HTTP_ORIGIN="https://evil.example")

    assert allowed.status_code == 204 and allowed["Access-Control-Allow-Origin"] == ORIGIN_A
    assert (
        "POST" in allowed["Access-Control-Allow-Methods"] and "Content-Type" in allowed["Access-Control-Allow-Headers"]
    )
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused


@pytest.mark.parametrize(
    "body",
    [
        {"client_message_id": "c1", "text": ""},
        {"client_message_id": "c1", "text": "   \n\t "},
        {"client_message_id": "c1", "text": "x" * (services.MAX_TEXT_LENGTH + 1)},
        {"client_message_id": "c1", "text": "a\x00b"},
        {"text": "Hola"},
        {"client_message_id": "no spaces", "text": "Hola"},
        {"client_message_id": "c1", "text": "Hola", "guest_token": "short"},
        "not json",
        "[1, 2]",
    ],
)
def test_invalid_posts_are_400_and_store_nothing(client, account, body):
    response = post(client, account.external_id, body)

    assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert not Message.objects.exists() and not Guest.objects.exists()


def test_history_needs_a_well_formed_token(client, account):
    response = client.get(f"/webchat/{account.external_id}/messages/", {"guest_token": "x"}, HTTP_ORIGIN=ORIGIN_A)
    assert response.status_code == 400


def test_rate_limit_is_429_with_retry_after_and_stores_nothing(client, account, greeting_nlu, monkeypatch):
    monkeypatch.setattr(services, "POST_RATE_PER_MINUTE", 3)
    guest_token = token()
    assert [say(client, account.external_id, guest_token).status_code for _ in range(3)] == [201] * 3

    limited = say(client, account.external_id, guest_token)

    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60 and limited.json()["retry_after"] == int(limited["Retry-After"])
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 3
    assert say(client, account.external_id, token()).status_code == 201  # another guest is not limited


def test_a_burst_across_the_turn_of_a_minute_is_refused_not_stored_unanswered(
    client, account, greeting_nlu, monkeypatch, settings
):
    """20 posts at hh:mm:58 and 20 more at hh:mm+1:01 passed fixed windows and the second 20 were stored as a flood,
    never answered. The limit now holds over the previous minute too, and never exceeds the flood limit."""
    settings.GUEST_FLOOD_MAX_PER_MINUTE = 4
    clock = [1_800_000_000 - 2.0]  # 2 s before a minute turns
    monkeypatch.setattr(services.time, "time", lambda: clock[0])
    guest_token = token()

    before_the_turn = [say(client, account.external_id, guest_token).status_code for _ in range(4)]
    clock[0] += 3.0
    after_the_turn = [say(client, account.external_id, guest_token).status_code for _ in range(4)]

    assert before_the_turn == [201] * 4
    assert after_the_turn == [429] * 4
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 4
    assert not Message.objects.filter(direction=Direction.INBOUND, flagged=True).exists()  # nothing left unanswered
    clock[0] += 60.0  # a minute later the guest may write again
    assert say(client, account.external_id, guest_token).status_code == 201


# --- cross-tenant ---------------------------------------------------------------------------------------------------
def test_a_key_of_hotel_b_cannot_read_hotel_a_history(client, account, other_account, greeting_nlu):
    guest_token = token()
    say(client, account.external_id, guest_token, "Mi reserva es ABC123")

    other = history(client, other_account.external_id, guest_token, origin="https://hotel-b.example").json()

    assert other["messages"] == [] and other["conversation"] is None and other["hotel"]["name"] == "Hotel B"
    # and hotel A's origin cannot use hotel B's key at all
    assert history(client, other_account.external_id, guest_token).status_code == 403


def test_the_same_token_on_two_hotels_is_two_guests(client, account, other_account, greeting_nlu):
    guest_token = token()
    say(client, account.external_id, guest_token, "para A")
    post(
        client,
        other_account.external_id,
        {"client_message_id": "b1", "text": "para B", "guest_token": guest_token},
        origin="https://hotel-b.example",
    )

    texts_a = [m["text"] for m in history(client, account.external_id, guest_token).json()["messages"]]

    assert Guest.objects.filter(address=services.guest_address(guest_token)).count() == 2
    assert "para A" in texts_a and "para B" not in texts_a


# --- origins --------------------------------------------------------------------------------------------------------
def test_origin_parsing_and_matching(account):
    assert services.parse_allowed_origins("https://A.com, http://b.com:8080 https://a.com:443/") == [
        "https://a.com",
        "http://b.com:8080",
    ]
    for bad in ("ftp://a.com", "https://a.com/path", "a.com"):
        with pytest.raises(ValueError):
            services.parse_allowed_origins(bad)
    resolved = services.webchat_account_resolve(account.external_id)
    assert services.webchat_origin_allowed(account=resolved, origin="https://www.hotel-a.example:443", own_host="x")
    assert services.webchat_origin_allowed(
        account=resolved, origin="https://chat.example:8443", own_host="chat.example:8443"
    )
    assert not services.webchat_origin_allowed(account=resolved, origin="https://hotel-a.example", own_host="x")
    assert not services.webchat_origin_allowed(account=resolved, origin="", own_host="x")


# --- hosted page, script, command, demo -----------------------------------------------------------------------------
def test_hosted_page_in_the_guest_language_with_the_hotel_key(client, account):
    spanish = client.get("/chat/sol-y-mar/")
    portuguese = client.get("/chat/sol-y-mar/", HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9")
    english = client.get("/chat/sol-y-mar/?lang=en", HTTP_ACCEPT_LANGUAGE="pt-BR")

    assert spanish.status_code == 200 and spanish["Content-Language"] == "es"
    html = spanish.content.decode()
    assert "Hotel Sol y Mar" in html and f'data-key="{account.external_id}"' in html and "/webchat/widget.js" in html
    assert "Escribe un mensaje…" in html and '<html lang="es">' in html
    assert "<title>Chatea con Hotel Sol y Mar</title>" in html and "Tu mensaje" in html
    assert "Escreva uma mensagem…" in portuguese.content.decode()
    assert "Write a message…" in english.content.decode()


def test_hosted_page_404_without_webchat_or_hotel(client, tenant, other_account):
    assert client.get("/chat/sol-y-mar/").status_code == 404  # the hotel has no web chat
    assert client.get("/chat/nope/").status_code == 404
    other_account.tenant.is_active = False
    other_account.tenant.save()
    assert client.get("/chat/hotel-b/").status_code == 404


def test_widget_script_carries_strings_in_every_language_and_the_stylesheet(client):
    response = client.get("/webchat/widget.js")

    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    source = response.content.decode()
    config = json.loads(source.split("window.HotelWebchat.config = ", 1)[1].split(";\n", 1)[0])
    assert config["catalog"]["es"]["send"] == "Enviar" and config["catalog"]["pt"]["staff"] == "Recepção"
    assert config["catalog"]["en"]["placeholder"] == "Write a message…"
    assert config["css"] == "http://testserver/static/webchat/chat.css"
    assert "client_message_id" in source


def test_webchat_command_creates_and_shows(tenant):
    out = io.StringIO()
    call_command("webchat", "create", "--tenant", tenant.slug, "--allowed-origins", "https://a.com", stdout=out)
    account = ChannelAccount.objects.get(tenant=tenant, channel=ChannelType.WEBCHAT)
    assert account.credentials == {"public_key": account.external_id, "allowed_origins": "https://a.com"}
    assert len(account.external_id) == 24
    assert f'data-key="{account.external_id}"' in out.getvalue() and "/webchat/widget.js" in out.getvalue()

    shown = io.StringIO()
    call_command("webchat", "show", "--tenant", tenant.slug, stdout=shown)
    assert account.external_id in shown.getvalue() and "https://a.com" in shown.getvalue()
    with pytest.raises(CommandError, match="allowed-origins"):
        call_command("webchat", "create", "--tenant", tenant.slug, "--allowed-origins", "a.com/x")
    with pytest.raises(CommandError, match="Unknown hotel"):
        call_command("webchat", "show", "--tenant", "nope")


def test_seed_demo_webchat_is_idempotent(tenant):
    first = services.webchat_seed_demo(tenant)
    again = services.webchat_seed_demo(tenant)

    assert first.pk == again.pk and ChannelAccount.objects.filter(channel=ChannelType.WEBCHAT).count() == 1
    assert "http://localhost:8000" in first.credential("allowed_origins")


# --- websocket ------------------------------------------------------------------------------------------------------
def ws_to(key: str, guest_token: str, *, origin: str = "http://testserver", app=application) -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", b"testserver")]
    return WebsocketCommunicator(app, f"/ws/chat/{key}/?guest_token={guest_token}", headers=headers)


async def open_chat(key: str, guest_token: str, **kwargs) -> tuple[WebsocketCommunicator, dict]:
    ws = ws_to(key, guest_token, **kwargs)
    connected, code = await ws.connect(timeout=TIMEOUT)
    assert connected, code
    ready = await ws.receive_json_from(timeout=TIMEOUT)
    assert ready["type"] == "ready"
    return ws, ready


def guest_says(account, guest_token: str, text: str = "Hola"):
    resolved = services.webchat_account_resolve(account.external_id)
    return services.webchat_guest_message(
        account=resolved, guest_token=guest_token, client_message_id=uuid.uuid4().hex, text=text
    )


@pytest.mark.django_db(transaction=True)
def test_websocket_gets_its_own_conversation_live_and_nobody_elses(tenant, greeting_nlu):
    account = webchat_account(tenant)
    other_hotel = webchat_account(TenantFactory(slug="hotel-b"), origins="")
    me, neighbour, stranger = token(), token(), token()
    mine = guest_says(account, me, "primero")
    guest_says(account, neighbour, "vecino")
    guest_says(other_hotel, stranger, "otro hotel")

    async def scenario():
        ws, ready = await open_chat(account.external_id, me)
        assert ready["conversation"] == str(mine.conversation_id)
        ws_neighbour, _ = await open_chat(account.external_id, neighbour)
        ws_stranger, _ = await open_chat(other_hotel.external_id, stranger)

        await sync_to_async(guest_says)(account, me, "¿Tenéis parking?")

        frames = [await ws.receive_json_from(timeout=TIMEOUT) for _ in range(3)]
        kinds = [(f["type"], f["message"].get("direction")) for f in frames]
        assert kinds == [("message", "in"), ("message", "out"), ("status", None)]
        assert frames[0]["message"]["text"] == "¿Tenéis parking?" and frames[1]["message"]["sender"] == "bot"
        assert set(frames[1]["message"]) == set(services.PUBLIC_MESSAGE_FIELDS)
        assert frames[2]["message"] == {"id": frames[1]["message"]["id"], "status": "sent"}
        assert all(f["message"]["conversation"] == str(mine.conversation_id) for f in frames[:2])
        assert await ws_neighbour.receive_nothing(timeout=0.3)
        assert await ws_stranger.receive_nothing(timeout=0.1)

        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        for socket in (ws, ws_neighbour, ws_stranger):
            await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_websocket_follows_the_guest_when_staff_close_the_conversation_under_a_waiting_message(tenant, greeting_nlu):
    """Staff resolve the conversation while the guest's last message waits for the worker: the message moves to a
    new conversation, and the guest's open chat follows it there (its "ready" re-reads the history: the answer)."""
    from conversations.services import inbound_process

    account = webchat_account(tenant)
    me = token()
    first = guest_says(account, me, "primero")
    closed_id = first.conversation_id
    waiting = Message.objects.create(
        tenant=tenant, conversation_id=closed_id, channel_account=account, direction=Direction.INBOUND,
        sender=Sender.GUEST, text="¿Tenéis parking?", status=DeliveryStatus.RECEIVED,
    )  # fmt: skip

    async def scenario():
        ws, ready = await open_chat(account.external_id, me)
        assert ready["conversation"] == str(closed_id)
        await sync_to_async(Conversation.objects.filter(pk=closed_id).update)(status=ConversationStatus.CLOSED)

        assert await sync_to_async(inbound_process)(message_id=waiting.pk) == "reopened"

        moved = await ws.receive_json_from(timeout=TIMEOUT)
        # "ready" makes the widget re-read the history after joining the new group: what was answered before the
        # join is in the history, what comes after arrives live (here the inline worker answered at once).
        assert moved["type"] == "ready" and moved["conversation"] not in (None, str(closed_id))
        await ws.disconnect()
        return moved["conversation"]

    new_conversation = async_to_sync(scenario)()
    waiting.refresh_from_db()
    assert str(waiting.conversation_id) == new_conversation
    reply = Message.objects.get(reply_to=waiting, sender=Sender.BOT)
    assert str(reply.conversation_id) == new_conversation
    history = services.webchat_history(
        account=services.webchat_account_resolve(account.external_id), guest_token=me, after=0
    )
    assert reply.pk in [m["id"] for m in history.messages]


@pytest.mark.django_db(transaction=True)
def test_websocket_answers_frames_that_are_not_json_and_stays_open(tenant):
    account = webchat_account(tenant)

    async def scenario():
        ws, _ = await open_chat(account.external_id, token())
        await ws.send_to(text_data="not json {")
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "error", "code": "unknown_type"}
        await ws.send_to(bytes_data=b"\x00\x01")
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "error", "code": "bad_request"}
        await ws.send_json_to({"type": []})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "error", "code": "unknown_type"}
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        await ws.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_websocket_never_forwards_internal_notes_or_other_event_types(tenant):
    account = webchat_account(tenant)
    me = token()
    mine = guest_says(account, me)
    conversation = str(mine.conversation_id)

    async def scenario():
        ws, _ = await open_chat(account.external_id, me)
        layer = get_channel_layer()
        base = {"id": 1, "conversation": conversation, "at": "2026-01-01T00:00:00+00:00"}
        for event_type, payload in [
            ("message.created", {"id": 99, "sender": "staff", "is_internal": True, "text": "nota"}),
            ("message.created", {"id": 98, "sender": "system", "text": "sys"}),
            ("note.created", {"id": 97, "text": "nota"}),
            ("conversation.updated", {"id": conversation, "status": "human"}),
        ]:
            event = {**base, "type": event_type, "payload": payload}
            await layer.group_send(conversation_group(conversation), {"type": "event.forward", "event": event})
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_websocket_follows_a_new_conversation_on_sync(tenant, greeting_nlu):
    account = webchat_account(tenant)
    me = token()

    async def scenario():
        ws, ready = await open_chat(account.external_id, me)
        assert ready["conversation"] is None  # nothing written yet: no group joined
        first = await sync_to_async(guest_says)(account, me)
        assert await ws.receive_nothing(timeout=0.2)

        await ws.send_json_to({"type": "sync"})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {
            "type": "ready",
            "conversation": str(first.conversation_id),
        }

        await sync_to_async(
            lambda: publish_on_commit(
                tenant_id=tenant.pk,
                event_type="message.created",
                payload={
                    "id": 5,
                    "conversation": str(first.conversation_id),
                    "sender": "staff",
                    "direction": "out",
                    "text": "Hola, soy Marta",
                },
                conversation_id=first.conversation_id,
            )
        )()
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] == "message" and frame["message"]["text"] == "Hola, soy Marta"
        await ws.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("key", "guest_token", "origin", "code"),
    [
        ("unknownkeyunknownkey1234", None, "http://testserver", 4404),
        ("bad key", None, "http://testserver", 4404),
        (None, "short", "http://testserver", 4403),
        (None, "", "http://testserver", 4403),
    ],
)
def test_websocket_refuses_bad_key_or_token(tenant, key, guest_token, origin, code):
    account = webchat_account(tenant)

    async def scenario():
        ws = ws_to(key or account.external_id, token() if guest_token is None else guest_token, origin=origin)
        connected, close_code = await ws.connect(timeout=TIMEOUT)
        assert (connected, close_code) == (False, code)

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_websocket_origin_check_for_embedded_widgets(tenant):
    """Behind ``with_webchat`` (no host-based validator for /ws/chat/), the account's own allowed origins decide."""
    account = webchat_account(tenant)
    app = with_webchat(URLRouter([]))

    async def scenario():
        allowed, _ = await open_chat(account.external_id, token(), origin=ORIGIN_A, app=app)
        await allowed.disconnect()
        refused = ws_to(account.external_id, token(), origin="https://evil.example", app=app)
        assert await refused.connect(timeout=TIMEOUT) == (False, 4403)
        # the project's application refuses foreign origins before the consumer (AllowedHostsOriginValidator)
        foreign = ws_to(account.external_id, token(), origin="https://evil.example")
        connected, _ = await foreign.connect(timeout=TIMEOUT)
        assert not connected

    async_to_sync(scenario)()


def test_the_guest_token_is_stored_nowhere_only_its_digest(client, account, caplog):
    """The token is the browser's credential: staff (console, admin) and backups see a digest that cannot act as it."""
    caplog.set_level("INFO")
    guest_token = token()
    say(client, account.external_id, guest_token, "Hola", cid="c-1")
    history(client, account.external_id, guest_token)

    guest = Guest.objects.get(channel=ChannelType.WEBCHAT)
    assert guest.address == services.guest_address(guest_token)
    assert guest.address.startswith("wc_") and len(guest.address) == 46 and guest_token not in guest.address
    for message in Message.objects.all():
        assert guest_token not in (message.provider_message_id or "")
        assert guest_token not in json.dumps([message.raw_payload, message.attachment, message.nlu])
    assert not any(guest_token in json.dumps(e.payload) for e in ConversationEvent.objects.all())  # console feed
    assert Message.objects.filter(provider_message_id=f"webchat.{guest.address}.c-1").exists()
    # The history read carries the token in its query string; the request log shows it redacted.
    request_lines = [r.msg["request"] for r in caplog.records if isinstance(r.msg, dict) and "request" in r.msg]
    assert any("guest_token=[redacted]" in line for line in request_lines)
    assert guest_token not in caplog.text and not any(guest_token in str(r.msg) for r in caplog.records)
    # The digest is not a token: presenting it reads an empty history, never the guest's.
    assert history(client, account.external_id, guest.address).json()["messages"] == []


def test_guest_address_is_stable_and_distinct_per_token():
    first, second = services.new_guest_token(), services.new_guest_token()
    assert services.guest_address(first) == services.guest_address(first)
    assert services.guest_address(first) != services.guest_address(second)
    assert services.TOKEN_PATTERN.match(services.guest_address(first))  # fits where addresses are shown and keyed
