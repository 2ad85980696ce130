"""Admin: every registered model opens for a superuser, lists stay N+1 free, credentials are write-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.models import (
    AgentSettings,
    BookingAttempt,
    CannedReply,
    Conversation,
    ConversationStatus,
    Guest,
    InboundNotification,
    LockAction,
    LockAudit,
    Message,
    SessionState,
)
from tenants.models import ChannelAccount, FeatureFlag, HotelProfile, KnowledgeEntry, StaffMembership, Tenant
from tests.factories import (
    ChannelAccountFactory,
    ConversationFactory,
    MessageFactory,
    StaffMembershipFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_admin(admin_client):
    """Assertions read our English messages, whatever translations LANGUAGE_CODE (es) picks up."""
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


APP_SECRET = "s3cr3t-app-secret-value-0001"
ACCESS_TOKEN = "EAAG-stored-access-token-0002"


def lock_audit(tenant: Tenant) -> LockAudit:
    return LockAudit.objects.create(
        tenant=tenant, resource="conversation:1", owner="worker-1", action=LockAction.ACQUIRED
    )


def make(model: type) -> object:
    """One fresh row of ``model`` (and whatever it needs)."""
    makers = {
        Tenant: TenantFactory,
        ChannelAccount: ChannelAccountFactory,
        StaffMembership: StaffMembershipFactory,
        Guest: lambda: ConversationFactory().guest,
        Conversation: ConversationFactory,
        Message: MessageFactory,
        LockAudit: lambda: lock_audit(TenantFactory()),
        FeatureFlag: lambda: FeatureFlag.objects.create(name="nlp.llm.enabled", tenant=TenantFactory(), enabled=True),
        HotelProfile: lambda: HotelProfile.objects.create(tenant=TenantFactory()),
        KnowledgeEntry: lambda: KnowledgeEntry.objects.create(
            tenant=TenantFactory(), topic="wifi", language="es", answer="Red HotelGuest, clave sol2026"
        ),
        AgentSettings: lambda: AgentSettings.objects.create(tenant=TenantFactory(), confidence_threshold=0.5),
        SessionState: lambda: session_for(ConversationFactory()),
        CannedReply: lambda: CannedReply.objects.create(
            tenant=TenantFactory(), language="es", title="Bienvenida", text="¡Hola! Soy de recepción."
        ),
        InboundNotification: lambda: inbound_notification(ChannelAccountFactory()),
        BookingAttempt: lambda: booking_attempt(MessageFactory(sender="guest", direction="in")),
    }
    return makers[model]()


PROJECT_MODELS = [
    Tenant,
    ChannelAccount,
    StaffMembership,
    Guest,
    Conversation,
    Message,
    LockAudit,
    FeatureFlag,
    HotelProfile,
    KnowledgeEntry,
    AgentSettings,
    SessionState,
    CannedReply,
    InboundNotification,
    BookingAttempt,
]


def inbound_notification(account):
    return InboundNotification.objects.create(
        tenant=account.tenant, channel_account=account, channel=account.channel, body='{"object": "x"}'
    )


def booking_attempt(message):
    return BookingAttempt.objects.create(
        tenant=message.tenant, message=message, room_type="DBL", check_in=dt.date(2030, 5, 6),
        check_out=dt.date(2030, 5, 8), adults=2, guest_name="Ana García",
    )  # fmt: skip


def session_for(conversation):
    return SessionState.objects.create(
        tenant=conversation.tenant, conversation=conversation, expires_at=timezone.now() + dt.timedelta(hours=1)
    )


def admin_url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_project_model_is_registered():
    registered = {m for m in admin.site._registry if m._meta.app_label in ("tenants", "conversations")}

    assert registered == set(PROJECT_MODELS)


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda m: m.__name__)
def test_superuser_opens_changelist_and_change_form(admin_client, model):
    # given
    obj = make(model)

    # when
    changelist = admin_client.get(admin_url(model, "changelist"))
    change = admin_client.get(admin_url(model, "change", obj.pk))

    # then
    assert changelist.status_code == 200
    assert change.status_code == 200
    assert changelist.context["cl"].result_count == 1


@pytest.mark.parametrize("model", [Tenant, ChannelAccount, StaffMembership], ids=lambda m: m.__name__)
def test_superuser_opens_add_form(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", [Guest, Conversation, Message, LockAudit, BookingAttempt], ids=lambda m: m.__name__)
def test_traffic_cannot_be_added_by_hand(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 403


@pytest.mark.parametrize("model", [Conversation, Message, LockAudit], ids=lambda m: m.__name__)
def test_traffic_is_read_only(admin_client, model):
    # given
    obj = make(model)

    # when
    response = admin_client.post(admin_url(model, "change", obj.pk), {})
    delete = admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})

    # then
    assert response.status_code == 403
    assert delete.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(admin_client, model):
    # given
    make(model)
    with CaptureQueriesContext(connection) as one_row:
        assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    make(model)
    make(model)

    # when
    with CaptureQueriesContext(connection) as three_rows:
        response = admin_client.get(admin_url(model, "changelist"))

    # then
    assert response.context["cl"].result_count == 3
    # Each new row brings its own tenant, so a "tenant" list filter shows more choices — still one query.
    assert len(three_rows) == len(one_row)


def test_conversation_changelist_filters_and_search(admin_client):
    # given
    wanted = ConversationFactory(guest__display_name="Lucía Pérez", guest__address="34611222333")
    ConversationFactory(guest__display_name="Otro Huésped", status=ConversationStatus.PENDING_HUMAN)
    url = admin_url(Conversation, "changelist")

    # when
    by_name = admin_client.get(url, {"q": "Lucía"})
    by_address = admin_client.get(url, {"q": "34611222333"})
    by_status = admin_client.get(url, {"status__exact": "bot"})
    by_channel = admin_client.get(url, {"channel_account__channel__exact": "whatsapp"})

    # then
    assert [c.pk for c in by_name.context["cl"].result_list] == [wanted.pk]
    assert [c.pk for c in by_address.context["cl"].result_list] == [wanted.pk]
    assert [c.pk for c in by_status.context["cl"].result_list] == [wanted.pk]
    assert by_channel.context["cl"].result_count == 2


def test_conversation_page_shows_its_messages_read_only(admin_client):
    # given
    message = MessageFactory(text="¿A qué hora es el desayuno?")

    # when
    response = admin_client.get(admin_url(Conversation, "change", message.conversation_id))

    # then
    assert response.status_code == 200
    assert "¿A qué hora es el desayuno?" in response.content.decode()
    assert 'name="messages-0-text"' not in response.content.decode()


# --- channel account credentials ------------------------------------------------------------------------------
@pytest.fixture
def account(tenant):
    return ChannelAccountFactory(
        tenant=tenant,
        external_id="106540352242922",
        display_name="Recepción",
        credentials={"app_secret": APP_SECRET, "access_token": ACCESS_TOKEN},
    )


def form_data(account: ChannelAccount, **overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        "tenant": account.tenant_id,
        "channel": account.channel,
        "external_id": account.external_id,
        "display_name": account.display_name,
        "is_active": "on",
        "credential_app_secret": "",
        "credential_access_token": "",
        "credential_verify_token": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def stored_credentials(account: ChannelAccount) -> dict:
    return ChannelAccount.objects.get(pk=account.pk).credentials


def test_change_form_never_renders_stored_credentials(admin_client, account):
    # when
    response = admin_client.get(admin_url(ChannelAccount, "change", account.pk))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert APP_SECRET not in html
    assert ACCESS_TOKEN not in html
    assert 'name="credentials"' not in html
    for key in ("app_secret", "access_token", "verify_token"):
        assert f'<input type="password" name="credential_{key}"' in html
        assert f'name="clear_credential_{key}"' in html
    # Only the keys a WhatsApp account takes.
    assert "credential_auth_token" not in html


def test_changelist_and_tenant_page_show_which_keys_are_set_never_values(admin_client, account):
    # when
    changelist = admin_client.get(admin_url(ChannelAccount, "changelist")).content.decode()
    tenant_page = admin_client.get(admin_url(Tenant, "change", account.tenant_id)).content.decode()

    # then
    assert "app_secret ✓, access_token ✓, verify_token –" in changelist
    assert "app_secret ✓, access_token ✓, verify_token –" in tenant_page
    for html in (changelist, tenant_page):
        assert APP_SECRET not in html
        assert ACCESS_TOKEN not in html


def test_blank_credential_fields_keep_the_stored_values(admin_client, account):
    # when
    response = admin_client.post(
        admin_url(ChannelAccount, "change", account.pk), form_data(account, display_name="Front desk")
    )

    # then
    assert response.status_code == 302
    assert stored_credentials(account) == {"app_secret": APP_SECRET, "access_token": ACCESS_TOKEN}
    assert ChannelAccount.objects.get(pk=account.pk).display_name == "Front desk"


def test_a_new_value_replaces_only_that_credential(admin_client, account):
    # when
    response = admin_client.post(
        admin_url(ChannelAccount, "change", account.pk),
        form_data(account, credential_access_token="EAAG-rotated-token", credential_verify_token="verify-me"),
    )

    # then
    assert response.status_code == 302
    assert stored_credentials(account) == {
        "app_secret": APP_SECRET,
        "access_token": "EAAG-rotated-token",
        "verify_token": "verify-me",
    }
    # The admin's history names the changed fields, never the values.
    change_message = LogEntry.objects.get(object_id=str(account.pk)).get_change_message()
    assert "EAAG-rotated-token" not in change_message
    assert "verify-me" not in change_message


def test_clear_removes_the_credential(admin_client, account):
    # when
    response = admin_client.post(
        admin_url(ChannelAccount, "change", account.pk), form_data(account, clear_credential_app_secret="on")
    )

    # then
    assert response.status_code == 302
    assert stored_credentials(account) == {"access_token": ACCESS_TOKEN}


def test_new_value_and_clear_together_are_refused_and_not_echoed(admin_client, account):
    # when
    response = admin_client.post(
        admin_url(ChannelAccount, "change", account.pk),
        form_data(account, credential_app_secret="brand-new-secret", clear_credential_app_secret="on"),
    )

    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "credential_app_secret": ["Either enter a new value or clear it, not both."]
    }
    assert "brand-new-secret" not in response.content.decode()
    assert stored_credentials(account) == {"app_secret": APP_SECRET, "access_token": ACCESS_TOKEN}


def test_add_form_stores_credentials_for_the_chosen_channel(admin_client, tenant):
    # when
    response = admin_client.post(
        admin_url(ChannelAccount, "add"),
        {
            "tenant": tenant.pk,
            "channel": "whatsapp",
            "external_id": "106540352299999",
            "display_name": "",
            "is_active": "on",
            "credential_app_secret": "fresh-secret",
            "_save": "Save",
        },
    )

    # then
    assert response.status_code == 302
    account = ChannelAccount.objects.get()
    assert (account.tenant_id, account.external_id, account.credentials) == (
        tenant.pk,
        "106540352299999",
        {"app_secret": "fresh-secret"},
    )


def test_add_form_refuses_a_key_the_channel_does_not_take(admin_client, tenant):
    # when
    response = admin_client.post(
        admin_url(ChannelAccount, "add"),
        {
            "tenant": tenant.pk,
            "channel": "whatsapp",
            "external_id": "106540352299999",
            "is_active": "on",
            "credential_auth_token": "twilio-token",
            "_save": "Save",
        },
    )

    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "credential_auth_token": ["This channel does not use auth_token."]
    }
    assert ChannelAccount.objects.count() == 0


def test_deactivate_action_goes_through_the_service(admin_client, tenant):
    # given
    TenantFactory(slug="otro-hotel")

    # when
    response = admin_client.post(
        admin_url(Tenant, "changelist"), {"action": "deactivate_selected", "_selected_action": [tenant.pk]}
    )

    # then
    assert response.status_code == 302
    assert sorted(Tenant.objects.values_list("slug", "is_active")) == [("otro-hotel", True), ("sol-y-mar", False)]


def test_tenant_and_channel_are_fixed_once_the_account_exists(admin_client, account):
    # given
    other = TenantFactory(slug="otro-hotel")

    # when
    response = admin_client.post(
        admin_url(ChannelAccount, "change", account.pk),
        form_data(account, tenant=str(other.pk), channel="sms", external_id="106540352200000"),
    )

    # then: only the editable field moved
    assert response.status_code == 302
    assert ChannelAccount.objects.filter(pk=account.pk).values_list("tenant__slug", "channel", "external_id").get() == (
        "sol-y-mar",
        "whatsapp",
        "106540352200000",
    )


def test_an_account_without_credential_keys_has_no_password_inputs(admin_client, tenant):
    # given
    webchat = ChannelAccountFactory(tenant=tenant, channel="webchat", external_id="widget-1")

    # when
    response = admin_client.get(admin_url(ChannelAccount, "change", webchat.pk))

    # then
    assert response.status_code == 200
    assert 'type="password"' not in response.content.decode()
