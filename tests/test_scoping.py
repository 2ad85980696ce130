"""Tenant-owned querysets fail closed: ``for_tenant(None)`` is empty and a tenant never sees another's rows."""

from __future__ import annotations

import pytest

from conversations.models import Conversation, Guest, LockAction, LockAudit, Message
from tenants.models import Tenant
from tests.factories import ConversationFactory, MessageFactory, TenantFactory

pytestmark = pytest.mark.django_db

SCOPED_MODELS = [Guest, Conversation, Message, LockAudit]


def populate(tenant: Tenant) -> dict[type, set]:
    """One guest, conversation, message and lock audit for ``tenant``; returns their primary keys by model."""
    conversation = ConversationFactory(tenant=tenant)
    message = MessageFactory(conversation=conversation)
    audit = LockAudit.objects.create(
        tenant=tenant, resource=f"conversation:{conversation.pk}", owner="worker-1", action=LockAction.ACQUIRED
    )
    return {
        Guest: {conversation.guest_id},
        Conversation: {conversation.pk},
        Message: {message.pk},
        LockAudit: {audit.pk},
    }


@pytest.fixture
def tenant_a():
    return TenantFactory(slug="hotel-a")


@pytest.fixture
def tenant_b():
    return TenantFactory(slug="hotel-b")


@pytest.fixture
def rows(tenant_a, tenant_b):
    return {"a": populate(tenant_a), "b": populate(tenant_b)}


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_for_tenant_none_is_empty(rows, model):
    # given: both tenants have rows
    assert model.objects.count() == 2

    # when
    scoped = model.objects.for_tenant(None)

    # then
    assert list(scoped) == []
    assert scoped.count() == 0


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_for_unsaved_tenant_is_empty(rows, model):
    assert list(model.objects.for_tenant(Tenant(slug="unsaved"))) == []


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_for_tenant_returns_only_that_tenants_rows(rows, tenant_a, tenant_b, model):
    # when
    seen_by_a = set(model.objects.for_tenant(tenant_a).values_list("pk", flat=True))
    seen_by_b = set(model.objects.for_tenant(tenant_b).values_list("pk", flat=True))

    # then
    assert seen_by_a == rows["a"][model]
    assert seen_by_b == rows["b"][model]
    assert seen_by_a.isdisjoint(seen_by_b)


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_for_tenant_accepts_an_id(rows, tenant_a, model):
    assert set(model.objects.for_tenant(tenant_a.pk).values_list("pk", flat=True)) == rows["a"][model]


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_for_tenant_keeps_scoping_after_other_filters(rows, tenant_a, tenant_b, model):
    # when: B's primary keys asked for explicitly through A's scope
    leaked = model.objects.filter(pk__in=rows["b"][model]).for_tenant(tenant_a)

    # then
    assert list(leaked) == []


def test_for_tenant_of_an_unknown_id_is_empty(rows):
    unknown_id = max(Tenant.objects.values_list("pk", flat=True)) + 1

    assert [list(model.objects.for_tenant(unknown_id)) for model in SCOPED_MODELS] == [[], [], [], []]
