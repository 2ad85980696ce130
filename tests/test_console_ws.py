"""The staff console websocket (``/ws/console/``) against the real ASGI application: origin check, session auth,
tenant groups joined only after authorization, per-conversation subscriptions, replay without duplicates, and
removed staff cut off on the next heartbeat.

pytest-asyncio is not installed: each test is sync and drives one async scenario with ``async_to_sync``.
"""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction

from conversations.events import event_envelope, publish_on_commit, tenant_group
from conversations.models import ConversationEvent, Direction, Message, Sender
from hotel_agent.asgi import application
from tenants.models import StaffMembership
from tenants.selectors import ACTIVE_TENANT_SESSION_KEY
from tests import whatsapp_payloads as wa
from tests.factories import (
    ChannelAccountFactory,
    ConversationFactory,
    StaffMembershipFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 3


# --- helpers --------------------------------------------------------------------------------------------------------
def session_cookie(client, user, *, tenant=None) -> str:
    client.force_login(user)
    if tenant is not None:
        session = client.session
        session[ACTIVE_TENANT_SESSION_KEY] = tenant.pk
        session.save()
    return client.cookies["sessionid"].value


def communicator(session_key: str | None = None, *, origin: str = "http://testserver") -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", b"testserver")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application, "/ws/console/", headers=headers)


async def open_console(session_key: str) -> WebsocketCommunicator:
    """Connected and past the ``hello``."""
    ws = communicator(session_key)
    connected, _ = await ws.connect(timeout=TIMEOUT)
    assert connected
    hello = await ws.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "hello"
    return ws


async def events_until(ws: WebsocketCommunicator, predicate, *, limit: int = 50) -> list[dict]:
    """Receive frames until one event satisfies ``predicate``; returns every event seen up to it."""
    seen = []
    for _ in range(limit):
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        if frame["type"] != "event":
            continue
        seen.append(frame["event"])
        if predicate(frame["event"]):
            return seen
    raise AssertionError(f"no matching event among {seen}")


async def drain_events(ws: WebsocketCommunicator, *, until_type: str) -> list[dict]:
    events = []
    while True:
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == until_type:
            return events
        assert frame["type"] == "event", frame
        events.append(frame["event"])


@sync_to_async
def publish(tenant_id: int, conversation_id=None, event_type: str = "conversation.updated") -> int:
    with transaction.atomic():
        event = publish_on_commit(
            tenant_id=tenant_id, event_type=event_type, payload={"probe": True}, conversation_id=conversation_id
        )
    return event.pk


def new_user(**kwargs):
    user = UserFactory(**kwargs)
    user.save()  # the factory sets the password without saving it; the session hash must match the stored one
    return user


def staff_of(tenant, **kwargs):
    return StaffMembershipFactory(tenant=tenant, user=new_user(), **kwargs).user


@pytest.fixture
def hotels():
    a = TenantFactory(slug="hotel-a", name="Hotel A")
    b = TenantFactory(slug="hotel-b", name="Hotel B")
    return a, b


# --- connecting -----------------------------------------------------------------------------------------------------
def test_anonymous_is_closed_with_4403():
    async def scenario():
        ws = communicator()
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert connected  # accepted only to say why: the browser sees 4403 and stops retrying
        assert await ws.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
        await ws.disconnect()

    async_to_sync(scenario)()


def test_foreign_origin_is_refused(client, hotels):
    a, _ = hotels
    key = session_cookie(client, staff_of(a), tenant=a)

    async def scenario():
        ws = communicator(key, origin="https://evil.example")
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert not connected

    async_to_sync(scenario)()


def test_staff_without_an_active_hotel_is_closed_with_4403(client, hotels):
    a, b = hotels
    user = staff_of(a)
    StaffMembershipFactory(user=user, tenant=b)  # two hotels and none picked in this session
    key = session_cookie(client, user)

    async def scenario():
        ws = communicator(key)
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert connected
        assert await ws.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
        await ws.disconnect()

    async_to_sync(scenario)()


def test_session_pointing_at_a_hotel_without_membership_is_closed_with_4403(client, hotels):
    a, b = hotels
    user = staff_of(a)
    StaffMembershipFactory(user=user, tenant=TenantFactory())
    key = session_cookie(client, user, tenant=b)  # B: not theirs

    async def scenario():
        ws = communicator(key)
        await ws.connect(timeout=TIMEOUT)
        assert await ws.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
        await ws.disconnect()

    async_to_sync(scenario)()


def test_ping_pong_and_unknown_messages(client, hotels):
    a, _ = hotels
    key = session_cookie(client, staff_of(a), tenant=a)

    async def scenario():
        ws = await open_console(key)
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        await ws.send_json_to({"type": "shout"})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "error", "code": "bad_request"}
        for after in (-1, "²", "1.5", True):  # "²".isdigit() is True, but it is no number
            await ws.send_json_to({"type": "resume", "after": after})
            assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "error", "code": "bad_request"}
        await ws.send_json_to({"type": []})  # not a key: no TypeError inside the consumer
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "error", "code": "bad_request"}
        await ws.send_to(text_data="{not json")
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "error", "code": "bad_request"}
        await ws.send_to(bytes_data=b"\x00")
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "error", "code": "bad_request"}
        await ws.send_json_to({"type": "ping"})  # still connected
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        await ws.disconnect()

    async_to_sync(scenario)()


# --- tenant isolation -----------------------------------------------------------------------------------------------
def test_webhook_message_reaches_its_hotels_console_and_never_the_other(client, hotels, greeting_nlu):
    a, b = hotels
    account_a = ChannelAccountFactory(tenant=a, external_id="106540352240001")
    key_a = session_cookie(client, staff_of(a), tenant=a)
    key_b = session_cookie(client.__class__(), staff_of(b), tenant=b)
    body = wa.encode(wa.envelope(account_a.external_id, messages=[wa.text_message("Hola, buenas")]))

    async def scenario():
        ws_a = await open_console(key_a)
        ws_b = await open_console(key_b)
        response = await sync_to_async(client.post)(
            wa.WEBHOOK_URL,
            data=body,
            content_type="application/json",
            headers={"X-Hub-Signature-256": wa.sign(body)},
        )
        assert response.status_code == 200
        seen = await events_until(
            ws_a, lambda e: e["type"] == "message.created" and e["payload"]["sender"] == Sender.GUEST
        )
        created = seen[-1]
        assert created["payload"]["text"] == "Hola, buenas"
        assert created["payload"]["direction"] == Direction.INBOUND
        assert await sync_to_async(Message.objects.filter(pk=created["payload"]["id"], tenant=a).exists)()
        # B's console got nothing at all: not A's message, not A's bot reply, not its delivery status.
        assert await ws_b.receive_nothing(timeout=0.5)
        await ws_a.disconnect()
        await ws_b.disconnect()

    async_to_sync(scenario)()


def test_subscribe_to_another_hotels_conversation_is_not_found_and_delivers_nothing(client, hotels):
    a, b = hotels
    theirs = ConversationFactory(tenant=b)
    key = session_cookie(client, staff_of(a), tenant=a)

    async def scenario():
        ws = await open_console(key)
        for target in (str(theirs.pk), str(uuid.uuid4()), "not-a-uuid", None):
            await ws.send_json_to({"type": "subscribe", "conversation": target})
            reply = await ws.receive_json_from(timeout=TIMEOUT)
            assert reply["type"] == "error"
            assert reply["code"] == "not_found"
        await publish(b.pk, theirs.pk, "message.created")
        assert await ws.receive_nothing(timeout=0.5)
        groups = get_channel_layer()
        # Not a member of B's conversation group: a direct send there reaches no one on this connection.
        await groups.group_send(f"conversation.{theirs.pk}", {"type": "event.forward", "event": {"id": -1}})
        assert await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()

    async_to_sync(scenario)()


def test_subscribe_to_own_conversation_delivers_each_event_once(client, hotels):
    a, _ = hotels
    mine = ConversationFactory(tenant=a)
    key = session_cookie(client, staff_of(a), tenant=a)

    async def scenario():
        ws = await open_console(key)
        await ws.send_json_to({"type": "subscribe", "conversation": str(mine.pk)})
        assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "subscribed", "conversation": str(mine.pk)}
        event_id = await publish(a.pk, mine.pk, "message.created")  # sent to the tenant AND the conversation group
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] == "event"
        assert frame["event"]["id"] == event_id
        assert frame["event"]["conversation"] == str(mine.pk)
        assert await ws.receive_nothing(timeout=0.5)  # the second copy was dropped
        await ws.disconnect()

    async_to_sync(scenario)()


# --- replay ---------------------------------------------------------------------------------------------------------
def test_resume_replays_exactly_the_missed_events_once(client, hotels):
    a, b = hotels
    conversation = ConversationFactory(tenant=a)
    key = session_cookie(client, staff_of(a), tenant=a)

    async def scenario():
        seen_before = await publish(a.pk, conversation.pk)
        missed = [await publish(a.pk, conversation.pk), await publish(a.pk, None)]
        await publish(b.pk)  # another hotel's event in between: never replayed here
        ws = await open_console(key)
        live = await publish(a.pk, conversation.pk)  # arrives live AND is in the replay
        first = await ws.receive_json_from(timeout=TIMEOUT)
        assert first["type"] == "event"
        assert first["event"]["id"] == live
        await ws.send_json_to({"type": "resume", "after": seen_before})
        replayed = await drain_events(ws, until_type="resumed")
        assert [e["id"] for e in replayed] == missed  # the live one is not sent again
        # A late live copy of a replayed event (a slow layer) is dropped too.
        envelope = await sync_to_async(lambda: event_envelope(ConversationEvent.objects.get(pk=missed[0])))()
        await get_channel_layer().group_send(tenant_group(a.pk), {"type": "event.forward", "event": envelope})
        assert await ws.receive_nothing(timeout=0.5)
        # And what happens next still streams, once.
        after = await publish(a.pk, conversation.pk)
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert frame["event"]["id"] == after
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    async_to_sync(scenario)()


def test_resume_after_a_reconnect_catches_up_with_what_happened_while_away(client, hotels):
    a, _ = hotels
    key = session_cookie(client, staff_of(a), tenant=a)

    async def scenario():
        ws = await open_console(key)
        first = await publish(a.pk)
        assert (await ws.receive_json_from(timeout=TIMEOUT))["event"]["id"] == first
        await ws.disconnect()
        away = [await publish(a.pk), await publish(a.pk)]
        ws = await open_console(key)
        await ws.send_json_to({"type": "resume", "after": first})
        assert [e["id"] for e in await drain_events(ws, until_type="resumed")] == away
        await ws.send_json_to({"type": "resume", "after": str(away[-1])})
        assert await drain_events(ws, until_type="resumed") == []
        await ws.disconnect()

    async_to_sync(scenario)()


# --- heartbeat and revocation ---------------------------------------------------------------------------------------
@pytest.fixture
def fast_heartbeat(settings):
    settings.CONSOLE_HEARTBEAT_SECONDS = 0.2


def test_heartbeats_flow_while_the_membership_is_active(client, hotels, fast_heartbeat):
    a, _ = hotels
    key = session_cookie(client, staff_of(a), tenant=a)

    async def scenario():
        ws = await open_console(key)
        for _ in range(2):
            beat = await ws.receive_json_from(timeout=TIMEOUT)
            assert beat["type"] == "heartbeat"
            assert beat["at"]
        await ws.disconnect()

    async_to_sync(scenario)()


def test_removed_staff_are_disconnected_on_the_next_heartbeat(client, hotels, fast_heartbeat):
    a, _ = hotels
    user = staff_of(a)
    key = session_cookie(client, user, tenant=a)

    async def scenario():
        ws = await open_console(key)
        assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "heartbeat"
        await sync_to_async(StaffMembership.objects.filter(user=user, tenant=a).update)(is_active=False)
        while True:
            frame = await ws.receive_output(timeout=TIMEOUT)
            if frame["type"] == "websocket.close":
                break
        assert frame["code"] == 4403
        await publish(a.pk)
        assert await ws.receive_nothing(timeout=0.5)  # left the hotel's group before closing
        await ws.disconnect()

    async_to_sync(scenario)()


def test_logged_out_session_is_disconnected_on_the_next_heartbeat(client, hotels, fast_heartbeat):
    a, _ = hotels
    key = session_cookie(client, staff_of(a), tenant=a)

    async def scenario():
        ws = await open_console(key)
        assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "heartbeat"
        await sync_to_async(client.logout)()
        while True:
            frame = await ws.receive_output(timeout=TIMEOUT)
            if frame["type"] == "websocket.close":
                break
        assert frame["code"] == 4403
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_password_change_disconnects_the_open_console_on_the_next_heartbeat(client, hotels, fast_heartbeat):
    a, _ = hotels
    user = new_user()
    StaffMembershipFactory(user=user, tenant=a)
    key = session_cookie(client, user, tenant=a)

    def reset_password():
        user.set_password("a-new-password-nobody-knows-42")
        user.save()

    async def scenario():
        ws = await open_console(key)
        assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "heartbeat"
        await sync_to_async(reset_password)()
        while True:
            frame = await ws.receive_output(timeout=TIMEOUT)
            if frame["type"] == "websocket.close":
                break
        assert frame["code"] == 4403
        await ws.disconnect()

    async_to_sync(scenario)()


def test_deactivated_user_is_disconnected_on_the_next_heartbeat(client, hotels, fast_heartbeat):
    a, _ = hotels
    user = new_user()
    StaffMembershipFactory(user=user, tenant=a)
    key = session_cookie(client, user, tenant=a)

    async def scenario():
        ws = await open_console(key)
        assert (await ws.receive_json_from(timeout=TIMEOUT))["type"] == "heartbeat"
        await sync_to_async(type(user).objects.filter(pk=user.pk).update)(is_active=False)
        while True:
            frame = await ws.receive_output(timeout=TIMEOUT)
            if frame["type"] == "websocket.close":
                break
        assert frame["code"] == 4403
        await ws.disconnect()

    async_to_sync(scenario)()
