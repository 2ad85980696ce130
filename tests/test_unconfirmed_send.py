"""A send whose answer never arrived (read timeout, connection dropped mid-reply) may still have been accepted by
Meta. It is not resent at once: the lease is kept, and a status webhook that echoes the request's
``biz_opaque_callback_data`` confirms it, so the guest gets one copy, not two."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import respx
from django.test import override_settings
from django.utils import timezone
from prometheus_client import REGISTRY

from channels_gateway import services as gateway
from channels_gateway.adapters.whatsapp import callback_data_for, parse_payload
from channels_gateway.services import outbound_send
from conversations.models import DeliveryStatus, Direction, InboundNotification, Message, Sender
from tests import whatsapp_payloads as wa
from tests.factories import ChannelAccountFactory, ConversationFactory, GuestFactory, MessageFactory

AMBIGUOUS = {
    "read timeout": httpx.ReadTimeout("timed out"),
    "connection reset mid-answer": httpx.ReadError("connection reset by peer"),
    "closed without an answer": httpx.RemoteProtocolError("Server disconnected without sending a response."),
    "answer that does not decode": httpx.DecodingError("invalid gzip"),
}
UNSENDABLE = {
    "bad base URL": httpx.InvalidURL("Invalid port"),
    "header value that is not HTTP": httpx.LocalProtocolError("Illegal header value"),
    "scheme": httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'htp://'."),
}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def graph(settings, whatsapp_account):
    settings.WHATSAPP_ACCESS_TOKEN = "env-access-token"
    with respx.mock(base_url=settings.WHATSAPP_API_BASE_URL, assert_all_called=False) as mock:
        yield mock.post(f"/{whatsapp_account.external_id}/messages")


def queued_reply(account) -> Message:
    guest = GuestFactory(tenant=account.tenant, address=wa.GUEST_PHONE)
    conversation = ConversationFactory(tenant=account.tenant, guest=guest, channel_account=account)
    return MessageFactory(conversation=conversation, text="Su reserva está confirmada.", status=DeliveryStatus.QUEUED)


@pytest.fixture
def queued(whatsapp_account):
    return queued_reply(whatsapp_account)


def accepted(provider_id: str) -> httpx.Response:
    return httpx.Response(200, json={"messaging_product": "whatsapp", "messages": [{"id": provider_id}]})


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    def _deliver(account, *statuses: dict):
        body = wa.encode(wa.envelope(account.external_id, statuses=list(statuses)))
        headers = {"X-Hub-Signature-256": wa.sign(body)}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(wa.WEBHOOK_URL, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 200
        return response

    return _deliver


def lease_runs_out(message: Message, settings) -> None:
    Message.objects.filter(pk=message.pk).update(
        send_claimed_at=timezone.now() - timedelta(seconds=settings.OUTBOUND_SEND_LEASE_SECONDS + 1)
    )


# --- the sender -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("error", AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
def test_an_unconfirmed_send_keeps_its_lease_and_is_not_resent_at_once(queued, graph, settings, error):
    graph.side_effect = error
    before = metric("outbound_messages_total", channel="whatsapp", result="unconfirmed")

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "retry"
    assert outcome.retry_in > settings.OUTBOUND_SEND_LEASE_SECONDS - 5  # after the lease, not after a second
    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.QUEUED
    assert queued.send_claimed_at is not None  # still held
    assert metric("outbound_messages_total", channel="whatsapp", result="unconfirmed") == before + 1
    assert outbound_send(message_id=queued.pk).result == "in_flight"  # a redelivered task does not resend
    assert graph.call_count == 1


@pytest.mark.parametrize("error", UNSENDABLE.values(), ids=UNSENDABLE.keys())
def test_a_request_that_cannot_be_made_fails_at_once(queued, graph, error):
    graph.side_effect = error

    assert outbound_send(message_id=queued.pk).result == "failed"

    queued.refresh_from_db()
    assert (queued.status, queued.error_code, queued.send_claimed_at) == ("failed", "bad_request", None)


def test_an_unconfirmed_send_is_resent_once_the_lease_runs_out_without_a_status(queued, graph, settings):
    graph.side_effect = [httpx.ReadTimeout("timed out"), accepted("wamid.second")]
    outbound_send(message_id=queued.pk)
    lease_runs_out(queued, settings)

    assert outbound_send(message_id=queued.pk).result == "sent"

    queued.refresh_from_db()
    assert queued.provider_message_id == "wamid.second"
    assert queued.send_attempts == 2
    assert graph.call_count == 2


def test_every_unconfirmed_attempt_counts_against_the_budget(queued, graph, settings):
    settings.WHATSAPP_SEND_MAX_RETRIES = 2
    graph.side_effect = httpx.ReadTimeout("timed out")
    assert outbound_send(message_id=queued.pk).result == "retry"
    lease_runs_out(queued, settings)

    assert outbound_send(message_id=queued.pk).result == "failed"

    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.FAILED
    assert queued.error_code == "timeout"


def test_a_status_after_the_budget_ran_out_takes_the_failure_back(queued, graph, whatsapp_account, deliver, settings):
    settings.WHATSAPP_SEND_MAX_RETRIES = 1
    graph.side_effect = httpx.ReadTimeout("timed out")
    assert outbound_send(message_id=queued.pk).result == "failed"

    deliver(whatsapp_account, wa.status("wamid.first", "delivered", callback=callback_data_for(queued.pk)))

    queued.refresh_from_db()
    assert (queued.status, queued.provider_message_id, queued.error_code) == ("delivered", "wamid.first", "")


# --- the status that confirms it -------------------------------------------------------------------------------
def test_a_sent_status_with_the_callback_data_confirms_the_send(queued, graph, whatsapp_account, deliver, settings):
    graph.side_effect = httpx.ReadTimeout("timed out")
    outbound_send(message_id=queued.pk)
    before = metric("message_status_updates_total", channel="whatsapp", status="sent", result="confirmed")

    deliver(whatsapp_account, wa.status("wamid.first", "sent", callback=callback_data_for(queued.pk)))

    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.SENT
    assert queued.provider_message_id == "wamid.first"
    assert queued.send_claimed_at is None
    assert metric("message_status_updates_total", channel="whatsapp", status="sent", result="confirmed") == before + 1
    lease_runs_out(queued, settings)  # the retry comes back later …
    assert outbound_send(message_id=queued.pk).result == "skipped"  # … and finds nothing to send
    assert graph.call_count == 1


def test_a_later_status_confirms_and_applies_on_top(queued, graph, whatsapp_account, deliver):
    graph.side_effect = httpx.ReadTimeout("timed out")
    outbound_send(message_id=queued.pk)

    deliver(whatsapp_account, wa.status("wamid.first", "read", callback=callback_data_for(queued.pk)))
    deliver(whatsapp_account, wa.status("wamid.first", "delivered", callback=callback_data_for(queued.pk)))

    queued.refresh_from_db()
    assert queued.provider_message_id == "wamid.first"
    assert queued.status == DeliveryStatus.READ


def test_a_failed_status_confirms_the_send_and_records_the_error(queued, graph, whatsapp_account, deliver):
    graph.side_effect = httpx.ReadTimeout("timed out")
    outbound_send(message_id=queued.pk)
    error = {"code": 131047, "title": "Re-engagement message"}

    deliver(whatsapp_account, wa.status("wamid.first", "failed", errors=[error], callback=callback_data_for(queued.pk)))

    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.FAILED
    assert queued.error_code == "131047"
    assert queued.provider_message_id == "wamid.first"


def test_a_status_that_overtakes_a_normal_send_confirms_it_once(queued, graph, whatsapp_account, deliver):
    """Meta's "sent" can be processed before the send task records the id it got: one copy, not a duplicate."""

    def status_first(request):
        deliver(whatsapp_account, wa.status("wamid.only", "sent", callback=callback_data_for(queued.pk)))
        return accepted("wamid.only")

    graph.side_effect = status_first
    duplicates = metric("outbound_messages_total", channel="whatsapp", result="duplicate")
    sent = metric("outbound_messages_total", channel="whatsapp", result="sent")

    assert outbound_send(message_id=queued.pk).result == "sent"

    queued.refresh_from_db()
    assert (queued.status, queued.provider_message_id) == ("sent", "wamid.only")
    assert metric("outbound_messages_total", channel="whatsapp", result="duplicate") == duplicates
    assert metric("outbound_messages_total", channel="whatsapp", result="sent") == sent + 1


def test_a_status_racing_the_resend_that_records_another_id_is_a_duplicate(
    queued, graph, whatsapp_account, deliver, settings, monkeypatch
):
    """The confirmation finds no id, then the resend records its own before the confirming UPDATE runs."""
    graph.side_effect = httpx.ReadTimeout("timed out")
    outbound_send(message_id=queued.pk)
    real_filter = Message.objects.filter

    def resend_records_first(*args, **kwargs):
        if kwargs.get("pk") == queued.pk and kwargs.get("direction") == "out":
            Message.objects.filter(pk=queued.pk).update(provider_message_id="wamid.second", status="sent")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Message.objects, "filter", resend_records_first)
    before = metric("message_status_updates_total", channel="whatsapp", status="sent", result="duplicate")

    deliver(whatsapp_account, wa.status("wamid.first", "sent", callback=callback_data_for(queued.pk)))

    monkeypatch.undo()
    queued.refresh_from_db()
    assert queued.provider_message_id == "wamid.second"
    assert metric("message_status_updates_total", channel="whatsapp", status="sent", result="duplicate") == before + 1


def test_callback_data_naming_a_message_never_attempted_confirms_nothing(queued, whatsapp_account, deliver):
    deliver(whatsapp_account, wa.status("wamid.x", "sent", callback=callback_data_for(queued.pk)))

    queued.refresh_from_db()
    assert (queued.status, queued.provider_message_id) == ("queued", None)  # still to be sent


def test_callback_data_naming_another_hotels_message_confirms_nothing(whatsapp_account, other_tenant_account, deliver):
    theirs = queued_reply(other_tenant_account)
    Message.objects.filter(pk=theirs.pk).update(send_attempts=1)  # attempted, answer lost: confirmable by its own

    deliver(whatsapp_account, wa.status("wamid.forged", "sent", callback=callback_data_for(theirs.pk)))

    theirs.refresh_from_db()
    assert theirs.status == DeliveryStatus.QUEUED
    assert theirs.provider_message_id is None
    assert not Message.objects.filter(provider_message_id="wamid.forged").exists()


def test_callback_data_naming_the_same_hotels_other_number_confirms_nothing(whatsapp_account, deliver):
    second_number = ChannelAccountFactory(tenant=whatsapp_account.tenant)
    theirs = queued_reply(second_number)
    Message.objects.filter(pk=theirs.pk).update(send_attempts=1)

    deliver(whatsapp_account, wa.status("wamid.y", "sent", callback=callback_data_for(theirs.pk)))

    theirs.refresh_from_db()
    assert (theirs.status, theirs.provider_message_id) == ("queued", None)


def test_callback_data_naming_an_inbound_message_confirms_nothing(whatsapp_account, deliver):
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    # in every other way a row the confirmation would take (queued, attempted, no id): only its direction differs
    inbound = MessageFactory(conversation=conversation, direction=Direction.INBOUND, sender=Sender.GUEST,
                             status=DeliveryStatus.QUEUED, send_attempts=1, provider_message_id=None)  # fmt: skip

    deliver(whatsapp_account, wa.status("wamid.x", "sent", callback=callback_data_for(inbound.pk)))

    inbound.refresh_from_db()
    assert (inbound.status, inbound.provider_message_id) == ("queued", None)


def test_a_status_of_the_first_copy_after_a_resend_is_counted_as_a_duplicate(
    queued, graph, whatsapp_account, deliver, settings
):
    graph.side_effect = [httpx.ReadTimeout("timed out"), accepted("wamid.second")]
    outbound_send(message_id=queued.pk)
    lease_runs_out(queued, settings)
    outbound_send(message_id=queued.pk)
    before = metric("message_status_updates_total", channel="whatsapp", status="sent", result="duplicate")

    deliver(whatsapp_account, wa.status("wamid.first", "sent", callback=callback_data_for(queued.pk)))

    queued.refresh_from_db()
    assert queued.provider_message_id == "wamid.second"  # the copy we know of keeps its id
    assert metric("message_status_updates_total", channel="whatsapp", status="sent", result="duplicate") == before + 1


def test_a_confirmation_during_the_resend_is_counted_and_keeps_the_first_id(
    queued, graph, whatsapp_account, deliver, settings
):
    def confirm_while_sending(request):
        deliver(whatsapp_account, wa.status("wamid.first", "sent", callback=callback_data_for(queued.pk)))
        return accepted("wamid.second")

    graph.side_effect = [httpx.ReadTimeout("timed out"), confirm_while_sending]
    outbound_send(message_id=queued.pk)
    lease_runs_out(queued, settings)
    before = metric("outbound_messages_total", channel="whatsapp", result="duplicate")

    assert outbound_send(message_id=queued.pk).result == "sent"

    queued.refresh_from_db()
    assert queued.provider_message_id == "wamid.first"
    assert metric("outbound_messages_total", channel="whatsapp", result="duplicate") == before + 1


# --- a resend behind a drain backlog ----------------------------------------------------------------------------
def unconfirmed_attempt_long_ago(message: Message, settings, *, seconds_past_lease: float = 1.0):
    """An unconfirmed attempt whose lease has run out; returns when it was made."""
    attempted = timezone.now() - timedelta(seconds=settings.OUTBOUND_SEND_LEASE_SECONDS + seconds_past_lease)
    Message.objects.filter(pk=message.pk).update(send_claimed_at=attempted, send_attempts=1)
    return attempted


def stored_status(account, message: Message, *, received_at) -> InboundNotification:
    """The status webhook that confirms ``message``, stored by the webhook but not processed yet (drain backlog)."""
    confirming = wa.status("wamid.first", "sent", callback=callback_data_for(message.pk))
    body = wa.encode(wa.envelope(account.external_id, statuses=[confirming])).decode()
    row = InboundNotification.objects.create(
        tenant=account.tenant, channel_account=account, channel="whatsapp", body=body
    )
    InboundNotification.objects.filter(pk=row.pk).update(received_at=received_at)
    return row


def test_a_resend_waits_while_statuses_that_arrived_during_its_lease_are_unprocessed(
    queued, graph, whatsapp_account, settings, django_capture_on_commit_callbacks
):
    graph.side_effect = [accepted("wamid.second")]
    attempted = unconfirmed_attempt_long_ago(queued, settings)
    backlog = stored_status(whatsapp_account, queued, received_at=attempted + timedelta(seconds=3))

    waiting = outbound_send(message_id=queued.pk)

    assert (waiting.result, waiting.retry_in) == ("awaiting_status", 15.0)
    assert graph.call_count == 0  # nothing resent
    with django_capture_on_commit_callbacks(execute=True):  # the drain catches up: the status confirms the send
        gateway.inbound_notification_process(notification_id=backlog.pk)
    assert outbound_send(message_id=queued.pk).result == "skipped"
    queued.refresh_from_db()
    assert (queued.status, queued.provider_message_id, graph.call_count) == ("sent", "wamid.first", 0)


def test_notifications_from_outside_the_lease_do_not_hold_a_resend(queued, graph, whatsapp_account, settings):
    graph.side_effect = [accepted("wamid.second")]
    attempted = unconfirmed_attempt_long_ago(queued, settings)
    stored_status(whatsapp_account, queued, received_at=attempted - timedelta(seconds=1))  # before the attempt

    assert outbound_send(message_id=queued.pk).result == "sent"
    assert graph.call_count == 1


def test_another_hotels_backlog_does_not_hold_a_resend(queued, graph, other_tenant_account, settings):
    graph.side_effect = [accepted("wamid.second")]
    attempted = unconfirmed_attempt_long_ago(queued, settings)
    stored_status(other_tenant_account, queued, received_at=attempted + timedelta(seconds=3))

    assert outbound_send(message_id=queued.pk).result == "sent"


def test_a_resend_stops_waiting_for_a_backlog_after_a_while(queued, graph, whatsapp_account, settings):
    from conversations.services import CONFIRMATION_MAX_WAIT

    graph.side_effect = [accepted("wamid.second")]
    past_lease = CONFIRMATION_MAX_WAIT.total_seconds() - settings.OUTBOUND_SEND_LEASE_SECONDS + 1
    attempted = unconfirmed_attempt_long_ago(queued, settings, seconds_past_lease=past_lease)
    stored_status(whatsapp_account, queued, received_at=attempted + timedelta(seconds=3))

    assert outbound_send(message_id=queued.pk).result == "sent"  # the drain is stuck: the guest is not kept waiting


# --- parsing ----------------------------------------------------------------------------------------------------
def signed_elsewhere(message_id: int) -> str:
    with override_settings(SECRET_KEY="another-installation-" + "k" * 40):
        return callback_data_for(message_id)


@pytest.mark.parametrize(
    ("callback", "expected"),
    [
        (lambda: callback_data_for(42), 42),
        (lambda: "hotel-agent:message:42", None),  # unsigned
        (lambda: callback_data_for(42).replace(":42:", ":43:"), None),  # tampered
        (lambda: signed_elsewhere(42), None),  # a staging copy sharing the business account
        (lambda: callback_data_for(42) + "x" * 512, None),
        (lambda: "another-app:42", None),
        (lambda: 42, None),
        (lambda: None, None),
    ],
    ids=["ours", "unsigned", "tampered", "other installation", "too long", "another app", "not a string", "absent"],
)
def test_the_parser_reads_only_our_own_callback_data(callback, expected):
    body = wa.encode(wa.envelope("106540352242922", statuses=[wa.status("wamid.p", "sent", callback=callback())]))

    (update,) = parse_payload(body).statuses

    assert update.sent_message_id == expected
