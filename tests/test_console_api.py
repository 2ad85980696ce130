"""The staff console API (``/api/console/``): every endpoint's answer, its scoping to the active hotel (another
hotel's conversation is the same 404 as an absent one), session authentication with CSRF, input validation, the
``Idempotency-Key`` of replies and the event replay."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from conversations.console.services import conversation_claim, note_add
from conversations.models import (
    CannedReply,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    IdempotencyKey,
    Message,
    Sender,
)
from conversations.services import inbound_process
from tenants.models import StaffMembership, StaffRole
from tenants.selectors import ACTIVE_TENANT_SESSION_KEY
from tests import whatsapp_payloads as wa
from tests.factories import (
    ChannelAccountFactory,
    ConversationFactory,
    GuestFactory,
    MessageFactory,
    StaffMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/console"


# --- helpers ----------------------------------------------------------------------------------------------------------
def staff(tenant, *, role: str = StaffRole.AGENT, **user_fields):
    user = UserFactory(**user_fields)
    StaffMembershipFactory(user=user, tenant=tenant, role=role)
    return user


def client_for(user=None, *, active=None, csrf: bool = False) -> APIClient:
    client = APIClient(enforce_csrf_checks=csrf, HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        user.refresh_from_db()  # the factory's password is set on the instance only: log in with the stored row
        client.force_login(user)
    if active is not None:
        session = client.session
        session[ACTIVE_TENANT_SESSION_KEY] = active.pk
        session.save()
    return client


def conversation_for(account, *, status: str = ConversationStatus.PENDING_HUMAN, assignee=None, address=None):
    guest = GuestFactory(tenant=account.tenant, address=address or wa.GUEST_PHONE, display_name="Ana García")
    return ConversationFactory(
        tenant=account.tenant, guest=guest, channel_account=account, status=status, assignee=assignee
    )


def post(client, url: str, body: dict | None = None, **headers):
    return client.post(url, body or {}, format="json", headers=headers)


@pytest.fixture
def sends(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr("channels_gateway.tasks.send_outbound.delay", lambda message_id: calls.append(message_id))
    return calls


@pytest.fixture
def agent(tenant):
    return staff(tenant, first_name="Lucía", last_name="Pérez")


@pytest.fixture
def colleague(tenant):
    return staff(tenant, first_name="Marta", last_name="Ruiz")


@pytest.fixture
def api(agent):
    return client_for(agent)


@pytest.fixture
def conversation(whatsapp_account):
    return conversation_for(whatsapp_account)


@pytest.fixture
def foreign(other_tenant_account):
    """A conversation of another hotel."""
    return conversation_for(other_tenant_account)


@pytest.fixture
def outsider(other_tenant_account):
    """Staff of the other hotel."""
    return staff(other_tenant_account.tenant)


CONVERSATION_ENDPOINTS = [
    ("get", "{}/"),
    ("get", "{}/messages/"),
    ("post", "{}/claim/"),
    ("post", "{}/release/"),
    ("post", "{}/resolve/"),
    ("post", "{}/reply/"),
    ("post", "{}/notes/"),
]
ALL_ENDPOINTS = [
    ("get", f"{API}/conversations/"),
    *[(method, f"{API}/conversations/{path}") for method, path in CONVERSATION_ENDPOINTS],
    ("get", f"{API}/canned-replies/"),
    ("get", f"{API}/events/?after=0"),
]


def call(client, method: str, url: str):
    if method == "get":
        return client.get(url)
    return post(client, url, {"text": "Hola"}, **{"Idempotency-Key": "k-1"})


def nothing_changed(conversation, sends=None) -> None:
    status, assignee = conversation.status, conversation.assignee_id
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee_id) == (status, assignee)
    assert not Message.objects.filter(conversation=conversation, sender=Sender.STAFF).exists()
    assert not ConversationEvent.objects.filter(conversation_id=conversation.pk).exists()
    assert not ConversationEvent.objects.filter(type="note.created").exists()
    if sends is not None:
        assert sends == []


# --- who may call -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "url"), ALL_ENDPOINTS)
def test_anonymous_requests_are_refused(conversation, sends, method, url):
    response = call(client_for(), method, url.format(conversation.pk))
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    nothing_changed(conversation, sends)


@pytest.mark.parametrize(("method", "url"), ALL_ENDPOINTS)
def test_staff_without_an_active_hotel_are_refused(conversation, other_tenant_account, sends, method, url):
    # given staff of two hotels who have not picked one, and a user who belongs to none
    two_hotels = staff(conversation.tenant)
    StaffMembershipFactory(user=two_hotels, tenant=other_tenant_account.tenant)
    for user in (two_hotels, UserFactory()):
        # when
        response = call(client_for(user), method, url.format(conversation.pk))
        # then
        assert response.status_code == 403
        assert response.json()["error"] == "no_active_hotel"
    nothing_changed(conversation, sends)


def test_a_deactivated_membership_loses_access_at_once(api, agent, conversation):
    assert api.get(f"{API}/conversations/{conversation.pk}/").status_code == 200
    StaffMembership.objects.filter(user=agent).update(is_active=False)
    response = api.get(f"{API}/conversations/{conversation.pk}/")
    assert (response.status_code, response.json()["error"]) == (403, "no_active_hotel")


@pytest.mark.parametrize(("method", "path"), CONVERSATION_ENDPOINTS)
def test_another_hotels_conversation_is_the_same_404_as_an_absent_one(api, foreign, sends, method, path):
    # when
    theirs = call(api, method, f"{API}/conversations/" + path.format(foreign.pk))
    absent = call(api, method, f"{API}/conversations/" + path.format(uuid.uuid4()))
    # then
    assert (theirs.status_code, absent.status_code) == (404, 404)
    assert theirs.json() == absent.json()
    nothing_changed(foreign, sends)
    assert not IdempotencyKey.objects.exists()


def test_staff_of_two_hotels_work_in_the_one_they_picked(conversation, foreign, other_tenant_account):
    # given
    both = staff(conversation.tenant)
    StaffMembershipFactory(user=both, tenant=other_tenant_account.tenant)
    client = client_for(both, active=conversation.tenant)
    # when
    listed = client.get(f"{API}/conversations/").json()
    # then
    assert [c["id"] for c in listed["results"]] == [str(conversation.pk)]
    assert client.get(f"{API}/conversations/{foreign.pk}/").status_code == 404
    assert (
        client_for(both, active=other_tenant_account.tenant).get(f"{API}/conversations/{foreign.pk}/").status_code
        == 200
    )


def test_a_hotel_picked_but_no_longer_theirs_is_not_used(conversation, foreign, other_tenant_account):
    user = staff(conversation.tenant)
    client = client_for(user, active=other_tenant_account.tenant)  # a session naming a hotel they are not staff of
    assert client.get(f"{API}/conversations/{foreign.pk}/").status_code == 404
    assert client.get(f"{API}/conversations/{conversation.pk}/").status_code == 200  # their only hotel


def test_csrf_is_enforced_on_writes(agent, conversation):
    # given a logged-in browser session without the CSRF token
    client = client_for(agent, csrf=True)
    # when
    refused = post(client, f"{API}/conversations/{conversation.pk}/claim/")
    # then
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("CSRF Failed")
    nothing_changed(conversation)
    # when the page sends its token
    token = "a" * 32
    client.cookies["csrftoken"] = token
    accepted = post(client, f"{API}/conversations/{conversation.pk}/claim/", **{"X-CSRFToken": token})
    assert accepted.status_code == 200
    # reads need no token
    assert client_for(agent, csrf=True).get(f"{API}/conversations/").status_code == 200


# --- list -------------------------------------------------------------------------------------------------------------
def test_the_list_answers_the_hotels_conversations(api, agent, conversation, foreign):
    # given
    MessageFactory(conversation=conversation, text="¿Tenéis parking?", direction=Direction.INBOUND,
                   sender=Sender.GUEST, status=DeliveryStatus.RECEIVED)  # fmt: skip
    note_add(conversation=conversation, user=agent, text="nota interna")  # never the preview
    conversation.refresh_from_db()
    # when
    response = api.get(f"{API}/conversations/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    assert body["results"] == [
        {
            "id": str(conversation.pk),
            "status": "pending_human",
            "escalation_reason": "",
            "assignee": None,
            "assignee_name": None,
            "language": "",
            "guest": {"id": conversation.guest_id, "name": "Ana García", "address": wa.GUEST_PHONE},
            "channel": "whatsapp",
            "last_message_at": None,
            "created_at": conversation.created_at.isoformat(),
            "updated_at": conversation.updated_at.isoformat(),
            "closed_at": None,
            "last_message_text": "¿Tenéis parking?",
        }
    ]


def test_the_list_filters_and_pages_by_fifty(api, agent, tenant, whatsapp_account):
    # given
    mine = conversation_for(whatsapp_account, status=ConversationStatus.HUMAN, assignee=agent, address="34699999999")
    sms = ChannelAccountFactory(tenant=tenant, channel="sms", external_id="+34900000001")
    for n in range(51):
        conversation_for(sms, status=ConversationStatus.BOT, address=f"34600{n:06d}")
    # when / then
    first = api.get(f"{API}/conversations/?channel=sms").json()
    assert (first["count"], len(first["results"])) == (51, 50)
    assert first["next"].endswith("page=2")
    assert len(api.get(f"{API}/conversations/?channel=sms&page=2").json()["results"]) == 1
    assert [c["id"] for c in api.get(f"{API}/conversations/?assignee=me").json()["results"]] == [str(mine.pk)]
    assert api.get(f"{API}/conversations/?status=human").json()["results"][0]["assignee_name"] == "Lucía Pérez"
    assert api.get(f"{API}/conversations/?assignee=none&status=human").json()["count"] == 0
    assert api.get(f"{API}/conversations/?q=3469999").json()["count"] == 1
    assert api.get(f"{API}/conversations/?page=9").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=open", "status"), ("channel=fax", "channel"), ("assignee=someone", "assignee"), ("q=" + "x" * 101, "q")],
)
def test_the_list_rejects_bad_filters(api, query, field):
    response = api.get(f"{API}/conversations/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


# --- detail and messages ----------------------------------------------------------------------------------------------
def test_the_detail_has_the_conversation_and_the_guest_panel(api, conversation):
    response = api.get(f"{API}/conversations/{conversation.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(conversation.pk)
    assert body["last_message_text"] is None
    assert body["panel"] == {
        "name": "Ana García",
        "channel": "whatsapp",
        "address": wa.GUEST_PHONE,
        "language": "",
        "context": {},
        "pending": {},
        "last_nlu": None,
        "booking": None,
    }


def test_messages_come_oldest_first_with_notes_flagged(api, agent, conversation):
    # given
    inbound = MessageFactory(
        conversation=conversation,
        direction=Direction.INBOUND,
        sender=Sender.GUEST,
        status=DeliveryStatus.RECEIVED,
        text="Quiero hablar con alguien",
        nlu={"intent": "human_handoff", "confidence": 0.97},
    )
    note = note_add(conversation=conversation, user=agent, text="Lo llevo yo")
    MessageFactory(conversation=ConversationFactory(tenant=conversation.tenant))  # another conversation's
    # when
    body = api.get(f"{API}/conversations/{conversation.pk}/messages/").json()
    # then
    assert body["has_more"] is False
    assert body["results"] == [
        {
            "id": inbound.pk,
            "conversation": str(conversation.pk),
            "direction": "in",
            "sender": "guest",
            "kind": "text",
            "text": "Quiero hablar con alguien",
            "status": "received",
            "error_code": "",
            "flagged": False,
            "options": [],
            "nlu": {"intent": "human_handoff", "confidence": 0.97},
            "created_at": inbound.created_at.isoformat(),
            "is_internal": False,
            "author": None,
        },
        {
            "id": note.pk,
            "conversation": str(conversation.pk),
            "direction": "out",
            "sender": "staff",
            "kind": "text",
            "text": "Lo llevo yo",
            "status": "internal",
            "error_code": "",
            "flagged": False,
            "options": [],
            "nlu": {},
            "created_at": note.created_at.isoformat(),
            "is_internal": True,
            "author": {"id": agent.pk, "name": "Lucía Pérez"},
        },
    ]
    after = api.get(f"{API}/conversations/{conversation.pk}/messages/?after={inbound.pk}").json()
    assert [m["id"] for m in after["results"]] == [note.pk]
    assert api.get(f"{API}/conversations/{conversation.pk}/messages/?after=x").status_code == 400


# --- claim, release, resolve ------------------------------------------------------------------------------------------
def test_claiming_answers_the_conversation_held_by_me(api, agent, conversation):
    response = post(api, f"{API}/conversations/{conversation.pk}/claim/")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["assignee"], body["assignee_name"]) == (
        str(conversation.pk),
        "human",
        agent.pk,
        "Lucía Pérez",
    )
    assert ConversationEvent.objects.filter(conversation_id=conversation.pk, type="conversation.updated").count() == 1


def test_claiming_one_a_colleague_holds_is_a_409(api, colleague, conversation):
    conversation_claim(conversation=conversation, user=colleague)
    response = post(api, f"{API}/conversations/{conversation.pk}/claim/")
    assert response.status_code == 409
    assert response.json()["error"] == "held_by_other"
    assert response.json()["detail"] == "Another staff member is already handling this conversation."
    conversation.refresh_from_db()
    assert conversation.assignee_id == colleague.pk


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        ("es", "Otra persona del equipo ya está atendiendo esta conversación."),
        ("pt", "Outra pessoa da equipe já está atendendo esta conversa."),
    ],
)
def test_the_409_detail_is_in_the_staff_members_language(api, colleague, conversation, language, detail):
    conversation_claim(conversation=conversation, user=colleague)
    response = post(api, f"{API}/conversations/{conversation.pk}/claim/", **{"Accept-Language": language})
    assert response.status_code == 409
    assert response.json()["detail"] == detail


def test_releasing_gives_the_conversation_back_to_the_bot(api, agent, conversation):
    conversation_claim(conversation=conversation, user=agent)
    response = post(api, f"{API}/conversations/{conversation.pk}/release/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["assignee"]) == ("bot", None)


def test_releasing_or_resolving_a_colleagues_conversation_is_forbidden_for_an_agent(api, colleague, conversation):
    conversation_claim(conversation=conversation, user=colleague)
    for action in ("release", "resolve"):
        response = post(api, f"{API}/conversations/{conversation.pk}/{action}/")
        assert response.status_code == 403
        assert response.json()["error"] == "not_allowed"
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee_id) == (ConversationStatus.HUMAN, colleague.pk)


def test_a_hotel_admin_may_release_and_resolve_a_colleagues_conversation(tenant, colleague, conversation):
    admin_client = client_for(staff(tenant, role=StaffRole.ADMIN))
    conversation_claim(conversation=conversation, user=colleague)
    assert post(admin_client, f"{API}/conversations/{conversation.pk}/release/").json()["status"] == "bot"
    conversation_claim(conversation=conversation, user=colleague)
    resolved = post(admin_client, f"{API}/conversations/{conversation.pk}/resolve/").json()
    assert resolved["status"] == "closed"
    assert resolved["closed_at"] is not None


def test_resolving_closes_and_a_closed_conversation_cannot_be_claimed(api, agent, conversation):
    conversation_claim(conversation=conversation, user=agent)
    assert post(api, f"{API}/conversations/{conversation.pk}/resolve/").json()["status"] == "closed"
    response = post(api, f"{API}/conversations/{conversation.pk}/claim/")
    assert (response.status_code, response.json()["error"]) == (409, "closed")


# --- reply ------------------------------------------------------------------------------------------------------------
def reply(client, conversation, text="Ahora mismo lo reviso", key: str | None = "key-1"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return post(client, f"{API}/conversations/{conversation.pk}/reply/", {"text": text}, **headers)


def test_a_reply_is_created_and_sent_once_whatever_the_retries(
    api, agent, conversation, sends, django_capture_on_commit_callbacks
):
    conversation_claim(conversation=conversation, user=agent)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        first = reply(api, conversation)
    with django_capture_on_commit_callbacks(execute=True) as retried_callbacks:
        second = reply(api, conversation)
    # then
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    message = Message.objects.get(sender=Sender.STAFF)
    assert first.json() == {
        "id": message.pk,
        "conversation": str(conversation.pk),
        "direction": "out",
        "sender": "staff",
        "kind": "text",
        "text": "Ahora mismo lo reviso",
        "status": "queued",
        "error_code": "",
        "flagged": False,
        "options": [],
        "nlu": {},
        "created_at": message.created_at.isoformat(),
        "is_internal": False,
        "author": {"id": agent.pk, "name": "Lucía Pérez"},
    }
    assert sends == [message.pk]
    assert retried_callbacks == []
    assert IdempotencyKey.objects.count() == 1


def test_a_reply_the_broker_refuses_is_still_a_201_and_left_for_the_sweep(
    api, agent, conversation, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    def refused(message_id):
        raise OperationalError("broker down")

    monkeypatch.setattr("channels_gateway.tasks.send_outbound.delay", refused)
    conversation_claim(conversation=conversation, user=agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = reply(api, conversation)

    assert response.status_code == 201  # stored: no 500 after the commit, and a retry would find it
    message = Message.objects.get(sender=Sender.STAFF)
    assert (message.status, message.send_attempts) == ("queued", 0)  # what sweep_unfinished sends


def test_a_reply_without_an_idempotency_key_is_a_400(api, agent, conversation, sends):
    conversation_claim(conversation=conversation, user=agent)
    response = reply(api, conversation, key=None)
    assert response.status_code == 400
    assert list(response.json()) == ["idempotency_key"]
    assert not Message.objects.filter(sender=Sender.STAFF).exists()
    assert sends == []


@pytest.mark.parametrize(
    ("text", "key", "field"),
    [
        ("", "k", "text"),
        ("   \n ", "k", "text"),
        ("x" * 4097, "k", "text"),
        (None, "k", "text"),
        ("Hola", "", "idempotency_key"),
        ("Hola", "k" * 101, "idempotency_key"),
    ],
)
def test_invalid_replies_are_a_400_with_the_fields_messages(api, agent, conversation, sends, text, key, field):
    conversation_claim(conversation=conversation, user=agent)
    response = reply(api, conversation, text=text, key=key)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field][0], str)
    assert not Message.objects.filter(sender=Sender.STAFF).exists()
    assert sends == []


def test_a_reply_of_exactly_4096_characters_is_accepted(api, agent, conversation, sends):
    conversation_claim(conversation=conversation, user=agent)
    assert reply(api, conversation, text="x" * 4096).status_code == 201


def test_replying_before_claiming_is_a_409(api, conversation, sends):
    response = reply(api, conversation)
    assert (response.status_code, response.json()["error"]) == (409, "claim_first")
    assert not Message.objects.filter(sender=Sender.STAFF).exists()
    assert sends == []


def test_a_key_reused_for_another_text_is_a_409(api, agent, conversation, sends):
    conversation_claim(conversation=conversation, user=agent)
    reply(api, conversation, text="Hola")
    response = reply(api, conversation, text="Otra cosa")
    assert (response.status_code, response.json()["error"]) == (409, "idempotency_key_reused")
    assert Message.objects.filter(sender=Sender.STAFF).count() == 1


# --- notes ------------------------------------------------------------------------------------------------------------
def test_a_note_is_created_and_never_sent(
    api, agent, colleague, conversation, sends, django_capture_on_commit_callbacks
):
    conversation_claim(conversation=conversation, user=colleague)  # notes do not need the conversation
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api, f"{API}/conversations/{conversation.pk}/notes/", {"text": "Pide factura a nombre de empresa"}
        )
    assert response.status_code == 201
    body = response.json()
    assert (body["is_internal"], body["status"], body["sender"], body["author"]) == (
        True,
        "internal",
        "staff",
        {"id": agent.pk, "name": "Lucía Pérez"},
    )
    assert sends == []
    assert not Message.objects.for_tenant(conversation.tenant).guest_visible().filter(pk=body["id"]).exists()
    assert ConversationEvent.objects.get(type="note.created").payload["id"] == body["id"]


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "  "}, {"text": "x" * 4097}])
def test_an_invalid_note_is_a_400(api, conversation, body):
    response = post(api, f"{API}/conversations/{conversation.pk}/notes/", body)
    assert response.status_code == 400
    assert list(response.json()) == ["text"]
    assert not Message.objects.filter(is_internal=True).exists()


def test_a_note_retried_with_its_key_is_stored_once(api, agent, conversation, django_capture_on_commit_callbacks):
    url = f"{API}/conversations/{conversation.pk}/notes/"
    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, url, {"text": "Llamó por teléfono"}, **{"Idempotency-Key": "note-1"})
    with django_capture_on_commit_callbacks(execute=True) as retried:
        again = post(api, url, {"text": "Llamó por teléfono"}, **{"Idempotency-Key": "note-1"})
    other = post(api, url, {"text": "Llamó por teléfono"}, **{"Idempotency-Key": "note-2"})

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json() == again.json()
    assert retried == []  # no second event
    assert Message.objects.filter(is_internal=True).count() == 2
    assert ConversationEvent.objects.filter(type="note.created").count() == 2


def test_a_key_that_named_a_reply_cannot_name_a_note(api, agent, conversation, sends):
    conversation_claim(conversation=conversation, user=agent)
    assert reply(api, conversation, text="Mismo texto", key="shared").status_code == 201

    response = post(
        api, f"{API}/conversations/{conversation.pk}/notes/", {"text": "Mismo texto"}, **{"Idempotency-Key": "shared"}
    )

    assert response.status_code == 409
    assert not Message.objects.filter(is_internal=True).exists()


# --- canned replies ---------------------------------------------------------------------------------------------------
def test_canned_replies_are_the_active_hotels_in_the_asked_language(api, tenant, other_tenant_account):
    # given
    late = CannedReply.objects.create(tenant=tenant, language="es", title="Check-out tardío", text="Hasta las 14 h.",
                                      sort_order=2)  # fmt: skip
    wifi = CannedReply.objects.create(tenant=tenant, language="es", title="Wifi", text="Red SolyMar.", sort_order=1)
    hello = CannedReply.objects.create(tenant=tenant, language="en", title="Hello", text="Hi! How can I help?")
    CannedReply.objects.create(tenant=other_tenant_account.tenant, language="es", title="Otro", text="x")
    # when
    spanish = api.get(f"{API}/canned-replies/?language=es")
    everything = api.get(f"{API}/canned-replies/")
    # then
    assert spanish.status_code == 200
    assert spanish.json() == {
        "results": [
            {"id": wifi.pk, "language": "es", "title": "Wifi", "text": "Red SolyMar."},
            {"id": late.pk, "language": "es", "title": "Check-out tardío", "text": "Hasta las 14 h."},
        ]
    }
    assert {r["id"] for r in everything.json()["results"]} == {wifi.pk, late.pk, hello.pk}
    assert api.get(f"{API}/canned-replies/?language=fr").status_code == 400


# --- events replay ----------------------------------------------------------------------------------------------------
def test_the_event_replay_has_the_active_hotels_events_after_an_id(api, agent, conversation, foreign, outsider):
    # given events in both hotels
    start = api.get(f"{API}/events/").json()
    conversation_claim(conversation=conversation, user=agent)
    conversation_claim(conversation=foreign, user=outsider)
    note_add(conversation=foreign, user=outsider, text="nota del otro hotel")
    note = note_add(conversation=conversation, user=agent, text="nota")
    # when
    body = api.get(f"{API}/events/?after={start['last_id']}").json()
    # then
    mine = list(ConversationEvent.objects.filter(tenant=conversation.tenant).order_by("pk"))
    assert [e["id"] for e in body["results"]] == [e.pk for e in mine]
    assert [e["type"] for e in body["results"]] == ["conversation.updated", "note.created"]
    assert body["results"][0] == {
        "id": mine[0].pk,
        "type": "conversation.updated",
        "conversation": str(conversation.pk),
        "payload": mine[0].payload,
        "at": mine[0].created_at.isoformat(),
    }
    assert body["results"][1]["payload"]["id"] == note.pk
    assert (body["last_id"], body["has_more"]) == (mine[-1].pk, False)
    # and after the last one: nothing more
    assert api.get(f"{API}/events/?after={body['last_id']}").json() == {
        "results": [],
        "last_id": body["last_id"],
        "has_more": False,
    }


def test_the_event_cursor_is_the_hotels_latest_event(api, agent, conversation, foreign, outsider):
    conversation_claim(conversation=conversation, user=agent)
    conversation_claim(conversation=foreign, user=outsider)
    mine = ConversationEvent.objects.get(tenant=conversation.tenant)
    assert api.get(f"{API}/events/").json() == {"results": [], "last_id": mine.pk, "has_more": False}
    assert api.get(f"{API}/events/?after=-1").status_code == 400


def test_the_other_hotels_staff_never_replay_this_hotels_events(agent, conversation, outsider):
    conversation_claim(conversation=conversation, user=agent)
    body = client_for(outsider).get(f"{API}/events/?after=0").json()
    assert body == {"results": [], "last_id": 0, "has_more": False}


# --- end to end through the API: the bot is silent while staff hold the conversation ----------------------------------
def test_claim_then_the_guests_message_gets_no_bot_answer(api, conversation, greeting_nlu, sends):
    assert post(api, f"{API}/conversations/{conversation.pk}/claim/").status_code == 200
    message = MessageFactory(
        conversation=conversation,
        direction=Direction.INBOUND,
        sender=Sender.GUEST,
        status=DeliveryStatus.RECEIVED,
        text="Hola",
        provider_message_id=wa.wamid(),
    )
    assert inbound_process(message_id=message.pk) == "human"
    assert not Message.objects.filter(conversation=conversation, sender=Sender.BOT).exists()
    assert sends == []
    assert Conversation.objects.get(pk=conversation.pk).status == ConversationStatus.HUMAN
