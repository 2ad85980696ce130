"""Django admin for hotel admins: only their hotels' rows, everywhere; superusers unchanged; agents get nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from conversations.models import (
    AgentSettings,
    BookingAttempt,
    CannedReply,
    Conversation,
    Guest,
    InboundNotification,
    LockAction,
    LockAudit,
    Message,
    SessionState,
)
from pms.models import MockBooking, MockRoomType, PMSConfig
from tenants.admin_scoping import TenantScopedAdminMixin
from tenants.models import (
    ChannelAccount,
    FeatureFlag,
    HotelProfile,
    KnowledgeEntry,
    StaffMembership,
    StaffRole,
    Tenant,
)
from tests.factories import (
    ChannelAccountFactory,
    ConversationFactory,
    MessageFactory,
    StaffMembershipFactory,
    TenantFactory,
    UserFactory,
)
from tests.pms_factories import MockBookingFactory, MockRoomTypeFactory, PMSConfigFactory

pytestmark = pytest.mark.django_db

OTHER_HOTEL_NAME = "Hotel Bravo Secreto"

# One row of each tenant-owned model for a given hotel.
MAKERS: dict[type, Callable[[Tenant], object]] = {
    Tenant: lambda tenant: tenant,
    ChannelAccount: lambda tenant: ChannelAccountFactory(tenant=tenant),
    StaffMembership: lambda tenant: StaffMembershipFactory(tenant=tenant),
    FeatureFlag: lambda tenant: FeatureFlag.objects.create(name="nlp.llm.enabled", tenant=tenant, enabled=True),
    HotelProfile: lambda tenant: HotelProfile.objects.create(tenant=tenant),
    KnowledgeEntry: lambda tenant: KnowledgeEntry.objects.create(
        tenant=tenant, topic="wifi", language="es", answer=f"Wi-Fi de {tenant.slug}"
    ),
    Guest: lambda tenant: ConversationFactory(tenant=tenant).guest,
    Conversation: lambda tenant: ConversationFactory(tenant=tenant),
    Message: lambda tenant: MessageFactory(conversation=ConversationFactory(tenant=tenant)),
    LockAudit: lambda tenant: LockAudit.objects.create(
        tenant=tenant, resource="conversation:1", owner="worker-1", action=LockAction.ACQUIRED
    ),
    AgentSettings: lambda tenant: AgentSettings.objects.create(tenant=tenant, confidence_threshold=0.5),
    SessionState: lambda tenant: SessionState.objects.create(
        tenant=tenant,
        conversation=ConversationFactory(tenant=tenant),
        expires_at=timezone.now() + dt.timedelta(hours=1),
    ),
    CannedReply: lambda tenant: CannedReply.objects.create(
        tenant=tenant, language="es", title="Hola", text="¡Hola! ¿En qué puedo ayudarle?"
    ),
    InboundNotification: lambda tenant: InboundNotification.objects.create(
        tenant=tenant,
        channel_account=(account := ChannelAccountFactory(tenant=tenant)),
        channel=account.channel,
        body='{"object": "whatsapp_business_account", "entry": []}',
    ),
    BookingAttempt: lambda tenant: BookingAttempt.objects.create(
        tenant=tenant,
        message=MessageFactory(conversation=ConversationFactory(tenant=tenant)),
        room_type="DBL",
        check_in=dt.date(2030, 5, 6),
        check_out=dt.date(2030, 5, 8),
        adults=2,
        guest_name=f"Huésped de {tenant.slug}",
    ),
    PMSConfig: lambda tenant: PMSConfigFactory(tenant=tenant),
    MockRoomType: lambda tenant: MockRoomTypeFactory(tenant=tenant),
    MockBooking: lambda tenant: MockBookingFactory(room_type=MockRoomTypeFactory(tenant=tenant)),
}
SCOPED_MODELS = list(MAKERS)


def admin_url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def tenant_of(obj: object) -> int:
    return obj.pk if isinstance(obj, Tenant) else obj.tenant_id


@pytest.fixture
def hotel_a(db):
    return TenantFactory(slug="hotel-a", name="Hotel Alfa")


@pytest.fixture
def hotel_b(db):
    return TenantFactory(slug="hotel-b", name=OTHER_HOTEL_NAME)


def staff_client(client, tenant: Tenant, *, role: str = StaffRole.ADMIN, is_staff: bool = True):
    user = UserFactory(is_staff=is_staff)
    user.save()  # the factory's password is only set in memory
    StaffMembershipFactory(user=user, tenant=tenant, role=role)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.user = user
    return client


@pytest.fixture
def hotel_admin(client, hotel_a):
    """An admin of hotel A (and nothing else)."""
    return staff_client(client, hotel_a)


# --- coverage of the registry -------------------------------------------------------------------------------
def test_every_tenant_owned_admin_is_scoped():
    unscoped = []
    for model, model_admin in admin.site._registry.items():
        field_names = {f.name for f in model._meta.get_fields()}
        if (model is Tenant or "tenant" in field_names) and not isinstance(model_admin, TenantScopedAdminMixin):
            unscoped.append(model.__name__)

    assert unscoped == []


def test_every_scoped_admin_is_exercised_here():
    scoped = {m for m, ma in admin.site._registry.items() if isinstance(ma, TenantScopedAdminMixin)}

    assert scoped == set(SCOPED_MODELS)


# --- lists and pages ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_hotel_admin_sees_only_their_hotels_rows(hotel_admin, hotel_a, hotel_b, model):
    # given
    mine = MAKERS[model](hotel_a)
    MAKERS[model](hotel_b)

    # when
    response = hotel_admin.get(admin_url(model, "changelist"))

    # then
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert {tenant_of(row) for row in rows} == {hotel_a.pk}
    assert mine.pk in {row.pk for row in rows}
    assert OTHER_HOTEL_NAME not in response.content.decode()  # not in rows, filters or counts


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_another_hotels_row_is_a_404(hotel_admin, hotel_b, model):
    theirs = MAKERS[model](hotel_b)

    for view in ("change", "delete", "history"):
        response = hotel_admin.get(admin_url(model, view, theirs.pk))
        assert response.status_code == 404, view
    assert hotel_admin.get(admin_url(model, "change", 999_999)).status_code == 404  # same as absent


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_hotel_admin_opens_their_own_rows(hotel_admin, hotel_a, model):
    mine = MAKERS[model](hotel_a)

    response = hotel_admin.get(admin_url(model, "change", mine.pk))

    assert response.status_code == 200
    assert OTHER_HOTEL_NAME not in response.content.decode()


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_superuser_sees_every_hotels_rows(admin_client, hotel_a, hotel_b, model):
    MAKERS[model](hotel_a)
    MAKERS[model](hotel_b)

    response = admin_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200
    assert {tenant_of(row) for row in response.context["cl"].result_list} >= {hotel_a.pk, hotel_b.pk}


def test_another_hotels_row_cannot_be_changed_or_deleted_by_post(hotel_admin, hotel_b):
    entry = MAKERS[KnowledgeEntry](hotel_b)

    change = hotel_admin.post(
        admin_url(KnowledgeEntry, "change", entry.pk),
        {"tenant": hotel_b.pk, "topic": "wifi", "language": "es", "answer": "hijacked"},
    )
    delete = hotel_admin.post(admin_url(KnowledgeEntry, "delete", entry.pk), {"post": "yes"})

    assert change.status_code == 404
    assert delete.status_code == 404
    entry.refresh_from_db()
    assert entry.answer == "Wi-Fi de hotel-b"


def test_bulk_delete_only_reaches_their_rows(hotel_admin, hotel_a, hotel_b):
    mine = MAKERS[KnowledgeEntry](hotel_a)
    theirs = MAKERS[KnowledgeEntry](hotel_b)

    hotel_admin.post(
        admin_url(KnowledgeEntry, "changelist"),
        {"action": "delete_selected", "_selected_action": [mine.pk, theirs.pk], "post": "yes"},
    )

    assert not KnowledgeEntry.objects.filter(pk=mine.pk).exists()
    assert KnowledgeEntry.objects.filter(pk=theirs.pk).exists()


# --- forms ------------------------------------------------------------------------------------------------------
def test_foreign_key_choices_are_their_hotels_only(hotel_admin, hotel_a, hotel_b):
    response = hotel_admin.get(admin_url(KnowledgeEntry, "add"))

    choices = response.context["adminform"].form.fields["tenant"].queryset
    assert list(choices) == [hotel_a]
    assert OTHER_HOTEL_NAME not in response.content.decode()


def test_another_hotel_cannot_be_picked(hotel_admin, hotel_b):
    response = hotel_admin.post(
        admin_url(KnowledgeEntry, "add"), {"tenant": hotel_b.pk, "topic": "wifi", "language": "es", "answer": "x"}
    )

    assert response.status_code == 200
    assert "tenant" in response.context["adminform"].form.errors
    assert not KnowledgeEntry.objects.exists()


def test_hotel_admin_adds_and_edits_their_hotels_rows(hotel_admin, hotel_a):
    added = hotel_admin.post(
        admin_url(KnowledgeEntry, "add"),
        {"tenant": hotel_a.pk, "topic": "wifi", "language": "es", "answer": "Red Alfa, clave alfa2026"},
    )
    entry = KnowledgeEntry.objects.get()
    changed = hotel_admin.post(
        admin_url(KnowledgeEntry, "change", entry.pk),
        {"tenant": hotel_a.pk, "topic": "wifi", "language": "es", "answer": "Red Alfa, clave nueva"},
    )

    assert added.status_code == 302
    assert changed.status_code == 302
    entry.refresh_from_db()
    assert (entry.tenant, entry.answer) == (hotel_a, "Red Alfa, clave nueva")


def test_related_row_choices_are_their_hotels_only(hotel_admin, hotel_a, hotel_b):
    mine = MockRoomTypeFactory(tenant=hotel_a)
    MockRoomTypeFactory(tenant=hotel_b)
    booking = MockBookingFactory(room_type=mine)
    model_admin = admin.site.get_model_admin(MockBooking)
    request = hotel_admin.get(admin_url(MockBooking, "change", booking.pk)).wsgi_request

    field = model_admin.formfield_for_foreignkey(MockBooking._meta.get_field("room_type"), request)

    assert list(field.queryset) == [mine]


def test_staff_choices_are_their_hotels_staff_only(hotel_admin, hotel_a, hotel_b):
    colleague = StaffMembershipFactory(tenant=hotel_a).user
    stranger = StaffMembershipFactory(tenant=hotel_b).user

    response = hotel_admin.get(admin_url(StaffMembership, "add"))

    users = set(response.context["adminform"].form.fields["user"].queryset)
    assert colleague in users and hotel_admin.user in users
    assert stranger not in users


def test_hotel_admin_cannot_write_a_global_feature_flag(hotel_admin):
    response = hotel_admin.post(admin_url(FeatureFlag, "add"), {"name": "nlp.llm.enabled", "enabled": "on"})

    assert response.status_code == 200
    assert "tenant" in response.context["adminform"].form.errors
    assert not FeatureFlag.objects.exists()


def test_global_feature_flags_are_for_superusers_only(hotel_admin, admin_client):
    flag = FeatureFlag.objects.create(name="nlp.llm.enabled", tenant=None, enabled=True)

    assert hotel_admin.get(admin_url(FeatureFlag, "changelist")).context["cl"].result_count == 0
    assert hotel_admin.get(admin_url(FeatureFlag, "change", flag.pk)).status_code == 404
    assert admin_client.get(admin_url(FeatureFlag, "change", flag.pk)).status_code == 200


def test_autocomplete_does_not_leak_other_hotels(hotel_admin, hotel_b):
    response = hotel_admin.get(
        "/admin/autocomplete/",
        {"app_label": "tenants", "model_name": "knowledgeentry", "field_name": "tenant", "term": "Hotel"},
    )

    assert OTHER_HOTEL_NAME not in response.content.decode()


# --- the hotel itself ------------------------------------------------------------------------------------------
def test_hotel_admin_cannot_create_delete_or_deactivate_hotels(hotel_admin, hotel_a):
    add = hotel_admin.get(admin_url(Tenant, "add"))
    delete = hotel_admin.post(admin_url(Tenant, "delete", hotel_a.pk), {"post": "yes"})
    changelist = hotel_admin.get(admin_url(Tenant, "changelist"))
    change = hotel_admin.get(admin_url(Tenant, "change", hotel_a.pk))

    assert add.status_code == 403
    assert delete.status_code == 403
    assert Tenant.objects.filter(pk=hotel_a.pk, is_active=True).exists()
    assert "deactivate_selected" not in changelist.content.decode()
    assert "is_active" not in change.context["adminform"].form.fields


def test_hotel_admin_renames_their_hotel(hotel_admin, hotel_a):
    response = hotel_admin.post(
        admin_url(Tenant, "change", hotel_a.pk),
        {
            "name": "Hotel Alfa & Spa",
            "timezone": "Europe/Madrid",
            "default_language": "es",
            "channel_accounts-TOTAL_FORMS": "0",
            "channel_accounts-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    hotel_a.refresh_from_db()
    assert (hotel_a.name, hotel_a.is_active) == ("Hotel Alfa & Spa", True)


def test_channel_account_routing_is_for_superusers(hotel_admin, hotel_a):
    account = ChannelAccountFactory(tenant=hotel_a)

    change = hotel_admin.get(admin_url(ChannelAccount, "change", account.pk))

    assert "external_id" not in change.context["adminform"].form.fields
    assert hotel_admin.get(admin_url(ChannelAccount, "add")).status_code == 403


# --- who gets in ---------------------------------------------------------------------------------------------
def test_agents_get_no_admin_access(client, hotel_a):
    agent = staff_client(client, hotel_a, role=StaffRole.AGENT)
    entry = MAKERS[KnowledgeEntry](hotel_a)

    index = agent.get(reverse("admin:index"))

    assert index.status_code == 200
    assert index.context["app_list"] == []
    assert agent.get(admin_url(KnowledgeEntry, "changelist")).status_code == 403
    assert agent.get(admin_url(KnowledgeEntry, "change", entry.pk)).status_code == 404


def test_hotel_admin_without_staff_flag_cannot_enter_the_admin(client, hotel_a):
    user_client = staff_client(client, hotel_a, is_staff=False)

    response = user_client.get(admin_url(KnowledgeEntry, "changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response.url


@pytest.mark.parametrize("inactive", ["membership", "hotel"])
def test_an_inactive_membership_or_hotel_grants_nothing(client, hotel_a, inactive):
    user_client = staff_client(client, hotel_a)
    if inactive == "membership":
        StaffMembership.objects.filter(user=user_client.user).update(is_active=False)
    else:
        Tenant.objects.filter(pk=hotel_a.pk).update(is_active=False)

    assert user_client.get(admin_url(KnowledgeEntry, "changelist")).status_code == 403


def test_hotel_admin_index_lists_the_scoped_apps(hotel_admin):
    response = hotel_admin.get(reverse("admin:index"))

    apps = {app["app_label"] for app in response.context["app_list"]}
    assert apps == {"tenants", "conversations", "pms"}


def test_permissions_come_from_the_role(hotel_a):
    hotel_admin_user = StaffMembershipFactory(tenant=hotel_a, role=StaffRole.ADMIN).user
    agent_user = StaffMembershipFactory(tenant=hotel_a, role=StaffRole.AGENT).user

    assert hotel_admin_user.has_perm("tenants.change_knowledgeentry")
    assert hotel_admin_user.has_perm("tenants.change_tenant")
    assert not hotel_admin_user.has_perm("tenants.add_tenant")
    assert not hotel_admin_user.has_perm("auth.change_user")
    assert not agent_user.has_perm("tenants.view_knowledgeentry")
    assert not AnonymousUser().has_perm("tenants.view_knowledgeentry")


def test_the_llm_endpoint_is_for_superusers(hotel_admin, hotel_a, admin_client):
    agent_settings = AgentSettings.objects.create(tenant=hotel_a, llm_model="small", llm_api_key="hotel-key")
    form = {
        "tenant": hotel_a.pk,
        "confidence_threshold": 0.5,
        "session_ttl_hours": 24,
        "nlu_engine": "llm",
        "llm_base_url": "http://169.254.169.254/latest",  # what the workers would call: an internal address
        "llm_model": "bigger",
        "llm_api_key": "",
    }

    change = hotel_admin.get(admin_url(AgentSettings, "change", agent_settings.pk))
    posted = hotel_admin.post(admin_url(AgentSettings, "change", agent_settings.pk), form)

    assert "llm_base_url" not in change.context["adminform"].form.fields
    assert posted.status_code == 302
    agent_settings.refresh_from_db()
    assert (agent_settings.llm_base_url, agent_settings.llm_model) == ("", "bigger")  # the rest is theirs to tune
    assert agent_settings.llm_api_key == "hotel-key"

    admin_client.post(
        admin_url(AgentSettings, "change", agent_settings.pk),
        {**form, "llm_base_url": "https://llm.internal.example/v1"},
    )
    agent_settings.refresh_from_db()
    assert agent_settings.llm_base_url == "https://llm.internal.example/v1"
