"""Staff console pages: login required, an active hotel required (else the hotel picker), the picker only accepts
the staff member's own hotels, and the shell renders in Spanish and English."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from tenants.selectors import ACTIVE_TENANT_SESSION_KEY
from tests.factories import ConversationFactory, StaffMembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["console-queue", "console-conversations", "console-conversation"]


def page_url(name: str) -> str:
    if name == "console-conversation":
        return reverse(name, args=[uuid.uuid4()])
    return reverse(name)


def new_user(**kwargs):
    user = UserFactory(**kwargs)
    user.save()  # the factory sets the password without saving it; the session hash must match the stored one
    return user


@pytest.fixture
def hotel_a():
    return TenantFactory(slug="hotel-a", name="Hotel Aurora")


@pytest.fixture
def hotel_b():
    return TenantFactory(slug="hotel-b", name="Hotel Brisa")


@pytest.fixture
def staff_a(hotel_a):
    user = new_user(first_name="Lucía", last_name="Pérez")
    StaffMembershipFactory(user=user, tenant=hotel_a)
    return user


def login(client, user, *, tenant=None):
    client.force_login(user)
    if tenant is not None:
        session = client.session
        session[ACTIVE_TENANT_SESSION_KEY] = tenant.pk
        session.save()


# --- access ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*PAGES, "console-switch-tenant"])
def test_pages_require_login(client, name):
    url = page_url(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{resolve_url(settings.LOGIN_URL)}?next={url}"


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_for_staff_with_an_active_hotel(client, staff_a, hotel_a, name):
    login(client, staff_a, tenant=hotel_a)
    response = client.get(page_url(name), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hotel Aurora" in html
    assert 'data-api-root="/api/console/"' in html
    assert 'data-ws-path="/ws/console/"' in html
    assert f'data-user-id="{staff_a.pk}"' in html
    assert f'data-tenant="{hotel_a.pk}"' in html
    assert reverse("javascript-catalog") in html
    assert "console/console.js" in html


def test_only_hotel_is_used_without_picking(client, staff_a):
    login(client, staff_a)  # no choice in the session, but they have exactly one hotel
    assert client.get(reverse("console-queue")).status_code == 200


def test_conversation_page_is_a_shell_with_the_test_ids(client, staff_a, hotel_a):
    login(client, staff_a, tenant=hotel_a)
    conversation = ConversationFactory(tenant=hotel_a)
    response = client.get(reverse("console-conversation", args=[conversation.pk]))
    html = response.content.decode()
    assert f'data-conversation="{conversation.pk}"' in html
    for testid in ("claim-button", "reply-input", "reply-send", "release-button", "resolve-button", "note-input"):
        assert f'data-testid="{testid}"' in html
    assert 'data-testid="note-send"' in html
    # Nothing about the conversation is rendered server-side: the API decides (same 404 for absent / not yours).
    assert conversation.guest.display_name not in html


def test_staff_with_several_hotels_and_none_picked_go_to_the_picker(client, staff_a, hotel_b):
    StaffMembershipFactory(user=staff_a, tenant=hotel_b)
    login(client, staff_a)
    queue_url = reverse("console-conversations")
    response = client.get(queue_url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('console-switch-tenant')}?next={queue_url}"


def test_staff_without_hotels_see_the_picker_with_no_hotels(client):
    user = new_user()
    login(client, user)
    assert client.get(reverse("console-queue"))["Location"].startswith(reverse("console-switch-tenant"))
    response = client.get(reverse("console-switch-tenant"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert 'data-testid="no-hotels"' in response.content.decode()
    assert "console/console.js" not in response.content.decode()  # no hotel: no live connection either


def test_inactive_membership_counts_as_none(client, hotel_a):
    user = new_user()
    StaffMembershipFactory(user=user, tenant=hotel_a, is_active=False)
    login(client, user, tenant=hotel_a)
    assert client.get(reverse("console-queue"))["Location"].startswith(reverse("console-switch-tenant"))


# --- switching hotel ------------------------------------------------------------------------------------------------
def test_switch_lists_only_my_hotels(client, staff_a, hotel_a, hotel_b):
    other = TenantFactory(name="Hotel Ajeno")
    StaffMembershipFactory(user=staff_a, tenant=hotel_b)
    StaffMembershipFactory(tenant=other)
    login(client, staff_a)
    html = client.get(reverse("console-switch-tenant")).content.decode()
    assert "Hotel Aurora" in html
    assert "Hotel Brisa" in html
    assert "Hotel Ajeno" not in html
    assert html.count('data-testid="hotel-choice"') == 2


def test_switch_stores_the_hotel_and_goes_back(client, staff_a, hotel_a, hotel_b):
    StaffMembershipFactory(user=staff_a, tenant=hotel_b)
    login(client, staff_a, tenant=hotel_a)
    next_url = reverse("console-conversations")
    response = client.post(reverse("console-switch-tenant"), {"tenant": hotel_b.pk, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url
    assert client.session[ACTIVE_TENANT_SESSION_KEY] == hotel_b.pk
    assert "Hotel Brisa" in client.get(reverse("console-queue")).content.decode()


def test_switch_ignores_an_offsite_next(client, staff_a, hotel_a):
    login(client, staff_a)
    response = client.post(reverse("console-switch-tenant"), {"tenant": hotel_a.pk, "next": "https://evil.example/"})
    assert response["Location"] == reverse("console-queue")


@pytest.mark.parametrize("choice", ["other", "missing", "inactive", "garbage", "unicode digit", ""])
def test_switch_to_a_hotel_that_is_not_mine_is_404(client, staff_a, hotel_a, hotel_b, choice):
    StaffMembershipFactory(tenant=hotel_b)  # B exists and has staff, just not this one
    gone = TenantFactory(is_active=False)
    StaffMembershipFactory(user=staff_a, tenant=gone)
    login(client, staff_a, tenant=hotel_a)
    value = {
        "other": hotel_b.pk,
        "missing": 987654,
        "inactive": gone.pk,
        "garbage": "1 OR 1=1",
        "unicode digit": "²",
        "": "",
    }[choice]
    response = client.post(reverse("console-switch-tenant"), {"tenant": value})
    assert response.status_code == 404
    assert client.session[ACTIVE_TENANT_SESSION_KEY] == hotel_a.pk  # unchanged


def test_switch_requires_csrf(staff_a, hotel_a, hotel_b):
    from django.test import Client

    StaffMembershipFactory(user=staff_a, tenant=hotel_b)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(staff_a)
    response = csrf_client.post(reverse("console-switch-tenant"), {"tenant": hotel_b.pk})
    assert response.status_code == 403
    assert csrf_client.session.get(ACTIVE_TENANT_SESSION_KEY) is None


# --- languages ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        ("es", ["Cola de escalado", "Atender", "Devolver al bot", "Resolver"], "Escalation queue"),
        ("en", ["Escalation queue", "Claim", "Release to bot", "Resolve"], "Cola de escalado"),
    ],
)
def test_console_renders_in_spanish_and_english(client, staff_a, hotel_a, language, expected, absent):
    login(client, staff_a, tenant=hotel_a)
    conversation = ConversationFactory(tenant=hotel_a)
    queue_html = client.get(reverse("console-queue"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    conversation_html = client.get(
        reverse("console-conversation", args=[conversation.pk]), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert f'<html lang="{language}">' in queue_html
    assert expected[0] in queue_html
    assert absent not in queue_html
    for text in expected[1:]:
        assert text in conversation_html


def test_language_switch_in_the_header(client, staff_a, hotel_a):
    login(client, staff_a, tenant=hotel_a)
    queue_url = reverse("console-queue")
    html = client.get(queue_url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert f'action="{reverse("set_language")}"' in html
    response = client.post(reverse("set_language"), {"language": "en", "next": queue_url})
    assert response.status_code == 302
    assert "Escalation queue" in client.get(queue_url).content.decode()


def test_javascript_catalog_translates_console_strings(client):
    spanish = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Esperando al personal" in spanish  # "Waiting for staff" from console.js
    english = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Esperando al personal" not in english
