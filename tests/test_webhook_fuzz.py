"""Property-based tests of the WhatsApp webhook: documents Meta might send, and broken versions of them.

Generated from every payload kind the gateway knows (``tests/whatsapp_payloads.py``) by a few random edits each —
a value replaced by other JSON or by a value of the wrong type, a key deleted, a stray key added — and then:

- the shape check either accepts the document or refuses it with ``PayloadError`` (a 400), never anything else;
- signed and posted, a document is answered 200 or 400, never a 5xx, and a refused one leaves no row behind;
- whatever the webhook accepted, the drain processes without an error and each accepted message is stored once
  (an accepted notification that the worker then fails on would be a message lost: Meta does not redeliver a 200).

The examples are derandomized (the same every run, so CI cannot flake); ``HYPOTHESIS_PROFILE=fuzz`` explores many
more, at random, for a local bug hunt: ``HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest tests/test_webhook_fuzz.py``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_gateway.adapters import whatsapp
from channels_gateway.types import PayloadError
from conversations.models import Direction, InboundNotification, Message
from tests import whatsapp_payloads as wa

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
settings.register_profile(
    "fuzz",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"

PHONE_NUMBER_ID = "PHONE_NUMBER_ID"  # replaced by the test account's number where a database is involved


def _seeds() -> list[dict[str, Any]]:
    """One valid document per kind the gateway handles, as in CHANNELS.md."""
    pid = PHONE_NUMBER_ID
    messages = [
        wa.text_message("Hola, ¿tenéis parking?"),
        wa.text_reply("sí", context_id="wamid.previous"),
        wa.audio_message(),
        wa.media_message("image", caption="la habitación"),
        wa.media_message("document", filename="factura.pdf"),
        wa.media_message("sticker"),
        wa.button_reply(),
        wa.list_reply("double", "Doble", "Cama de matrimonio"),
        wa.template_button(),
        wa.location_message(latitude=40.4168, longitude=-3.7038, name="Sol", address="Puerta del Sol"),
        wa.unknown_message(),
        wa.username_message("hello", user_id="US.13491208655302741918"),
    ]
    seeds = [wa.envelope(pid, messages=[m]) for m in messages]
    seeds.append(wa.envelope(pid, statuses=[wa.status("wamid.out", "delivered")]))
    seeds.append(
        wa.envelope(
            pid,
            statuses=[wa.status("wamid.out", "failed", errors=[{"code": 131047, "title": "Re-engagement message"}])],
        )
    )
    # a status echoing a send's callback data (ours are signed; a forged or truncated one must be ignored, not fail)
    seeds.append(wa.envelope(pid, statuses=[wa.status("wamid.out", "sent", callback="hotel-agent:message:1:forged")]))
    seeds.append(
        wa.batch(
            [
                [wa.change_value(pid, messages=[wa.text_message("uno"), wa.text_message("dos", sender="34600000001")])],
                [wa.change_value(pid, statuses=[wa.status("wamid.out", "read")])],
            ]
        )
    )
    return seeds


SEEDS = _seeds()

_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "0", "-1", "1e400", "99999999999999999999", "\x00", "\ud800", "wamid.x", "text"])
)
_json = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)
# Keys the parser reads: a stray one in the wrong place is a more interesting edit than a random string.
_known_keys = st.sampled_from(
    [
        "object", "entry", "changes", "field", "value", "metadata", "phone_number_id", "contacts", "profile",
        "name", "wa_id", "user_id", "messages", "statuses", "from", "id", "timestamp", "type", "text", "body",
        "context", "interactive", "button_reply", "list_reply", "button", "location", "errors", "code", "status",
        "recipient_id", "biz_opaque_callback_data", "caption", "filename", "mime_type", "voice",
    ]
)  # fmt: skip


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _at(root: Any, path: tuple) -> Any:
    for step in path:
        root = root[step]
    return root


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any] | Any:
    """A seed document with 0–3 random edits."""
    doc: Any = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        edit = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        if not path:  # the root itself
            if edit == "replace":
                doc = draw(_json)
            continue
        parent, last = _at(doc, path[:-1]), path[-1]
        if edit == "replace":
            parent[last] = draw(_json)
        elif edit == "delete":
            del parent[last]
        elif edit == "add":
            target = parent[last]
            if isinstance(target, dict):
                target[draw(_known_keys | st.text(max_size=8))] = draw(_json)
            elif isinstance(target, list):
                target.append(draw(_json))
        elif isinstance(parent, list):  # duplicate a list item (Meta batches several of a kind)
            parent.append(copy.deepcopy(parent[last]))
    return doc


def _retarget(doc: Any, phone_number_id: str) -> Any:
    text = json.dumps(doc, ensure_ascii=False)
    return json.loads(text.replace(json.dumps(PHONE_NUMBER_ID), json.dumps(phone_number_id)))


# --- the shape check alone --------------------------------------------------------------------------------------
@settings(max_examples=3000 if FUZZING else 400)
@given(doc=documents())
def test_the_shape_check_accepts_or_refuses_with_a_payload_error(doc):
    try:
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
        document = whatsapp.load_json(body)
        batch = whatsapp.parse_document(document)
    except PayloadError:
        return
    for message in batch.messages:  # what the drain will read later is there and typed
        assert isinstance(message.provider_message_id, str) and message.provider_message_id
        assert isinstance(message.account_external_id, str) and message.account_external_id
    assert batch.account_external_ids <= whatsapp.account_ids_of(document)


# --- the whole path, on the database ----------------------------------------------------------------------------
class _Rollback(Exception):
    """Undo one example's rows (the examples share one test's database transaction)."""


@pytest.fixture
def no_drain_linger(settings):
    settings.INBOUND_WAKE_COALESCE_SECONDS = 0  # the eager drain takes no last look (no sleep per example)


@pytest.mark.django_db
@pytest.mark.timeout(3600 if FUZZING else 300)
@settings(max_examples=3000 if FUZZING else 60)
@given(doc=documents())
def test_a_signed_webhook_is_answered_200_or_400_and_what_it_accepts_is_processed(
    doc, whatsapp_account, client, django_capture_on_commit_callbacks, no_drain_linger
):
    doc = _retarget(doc, whatsapp_account.external_id)
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        with transaction.atomic():
            with django_capture_on_commit_callbacks(execute=True):  # the wake, the eager drain and processing
                response = client.post(
                    wa.WEBHOOK_URL,
                    data=body,
                    content_type="application/json",
                    headers={"X-Hub-Signature-256": wa.sign(body)},
                )
            assert response.status_code in (200, 400), response.content
            notifications = list(InboundNotification.objects.all())
            if response.status_code == 400:
                assert notifications == []
                assert response.json()["error"] == "malformed_payload"
            else:
                batch = whatsapp.parse_document(whatsapp.load_json(body))
                account = whatsapp_account.external_id
                # one row when the document carries something for the account (a change with no messages and no
                # statuses carries nothing)
                assert len(notifications) == (1 if account in batch.account_external_ids else 0)
                for notification in notifications:
                    assert notification.processed_at is not None, notification.last_error
                    assert notification.last_error == ""
                stored = Message.objects.filter(direction=Direction.INBOUND, channel_account=whatsapp_account)
                expected = {m.provider_message_id for m in batch.messages if m.account_external_id == account}
                assert sorted(stored.values_list("provider_message_id", flat=True)) == sorted(expected)
            raise _Rollback
    except _Rollback:
        pass


# --- delivery statuses, in any order ----------------------------------------------------------------------------
_STATUS_VALUES = ["sent", "delivered", "read", "played", "failed", "deleted", "warning"]
deliveries = st.lists(st.lists(st.sampled_from(_STATUS_VALUES), min_size=1, max_size=3), min_size=1, max_size=6)


@pytest.mark.django_db
@pytest.mark.timeout(3600 if FUZZING else 300)
@settings(max_examples=1000 if FUZZING else 40)
@given(batches=deliveries)
def test_statuses_in_any_order_end_at_the_furthest(
    batches, whatsapp_account, client, django_capture_on_commit_callbacks
):
    """Meta delivers statuses late, twice and out of order: the message ends at the furthest one it was told
    (queued < sent < failed < delivered < read; "played" is read; "deleted"/"warning" move nothing), and a failure
    keeps its error code only while nothing further arrived."""
    from conversations.models import STATUS_RANK, DeliveryStatus
    from tests.factories import ConversationFactory, MessageFactory

    mapped = [whatsapp.STATUS_MAP.get(value) for batch in batches for value in batch]
    expected = max([DeliveryStatus.SENT, *filter(None, mapped)], key=STATUS_RANK.__getitem__)
    try:
        with transaction.atomic():
            conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
            sent = MessageFactory(conversation=conversation, status=DeliveryStatus.SENT, provider_message_id="wamid.s")
            for batch in batches:
                items = [
                    wa.status("wamid.s", value, errors=[{"code": 131047}] if value == "failed" else None)
                    for value in batch
                ]
                body = wa.encode(wa.envelope(whatsapp_account.external_id, statuses=items))
                with django_capture_on_commit_callbacks(execute=True):
                    response = client.post(
                        wa.WEBHOOK_URL,
                        data=body,
                        content_type="application/json",
                        headers={"X-Hub-Signature-256": wa.sign(body)},
                    )
                assert response.status_code == 200
            sent.refresh_from_db()
            assert sent.status == expected, batches
            assert sent.error_code == ("131047" if expected == DeliveryStatus.FAILED else ""), batches
            raise _Rollback
    except _Rollback:
        pass
