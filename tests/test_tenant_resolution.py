"""``tenant_resolve``: (channel, external id) → active tenant's account, cached, invalidated on commit."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tenants.services import ResolvedAccount, tenant_activate, tenant_deactivate, tenant_resolve
from tests.factories import ChannelAccountFactory, TenantFactory

WA_ID = "106540352242922"

pytestmark = pytest.mark.django_db


def resolutions(result: str) -> float:
    return REGISTRY.get_sample_value("tenant_resolution_total", {"result": result}) or 0.0


class MetricDelta:
    """Counts ``tenant_resolution_total`` increments per result since construction."""

    RESULTS = ("hit", "miss", "unknown", "inactive")

    def __init__(self) -> None:
        self.start = {result: resolutions(result) for result in self.RESULTS}

    def __call__(self) -> dict[str, float]:
        return {result: resolutions(result) - self.start[result] for result in self.RESULTS}


def expected(account) -> ResolvedAccount:
    return ResolvedAccount(
        account_id=account.pk,
        tenant_id=account.tenant_id,
        tenant_slug=account.tenant.slug,
        channel=account.channel,
        external_id=account.external_id,
        tenant_timezone=account.tenant.timezone,
        tenant_language=account.tenant.default_language,
        credentials={},
    )


def test_known_account_resolves_to_its_tenant(whatsapp_account, other_tenant_account):
    # given
    delta = MetricDelta()

    # when
    resolved = tenant_resolve(channel="whatsapp", external_id=WA_ID)

    # then
    assert resolved == expected(whatsapp_account)
    assert resolved.tenant_slug == "sol-y-mar"
    assert delta() == {"hit": 0, "miss": 1, "unknown": 0, "inactive": 0}


def test_other_tenants_account_resolves_to_the_other_tenant(whatsapp_account, other_tenant_account):
    resolved = tenant_resolve(channel="whatsapp", external_id="209999999999999")

    assert resolved == expected(other_tenant_account)
    assert (resolved.tenant_slug, resolved.tenant_language) == ("otro-hotel", "en")


def test_second_resolution_is_served_from_the_cache(whatsapp_account, django_assert_num_queries):
    # given
    first = tenant_resolve(channel="whatsapp", external_id=WA_ID)
    delta = MetricDelta()

    # when
    with django_assert_num_queries(0):
        second = tenant_resolve(channel="whatsapp", external_id=WA_ID)

    # then
    assert second == first == expected(whatsapp_account)
    assert delta() == {"hit": 1, "miss": 0, "unknown": 0, "inactive": 0}


def test_only_non_blank_string_credentials_are_carried(tenant):
    # given
    account = ChannelAccountFactory(
        tenant=tenant, external_id=WA_ID, credentials={"access_token": "tok-1", "app_secret": "", "verify_token": 7}
    )

    # when
    resolved = tenant_resolve(channel="whatsapp", external_id=WA_ID)

    # then
    assert resolved.credentials == {"access_token": "tok-1"}
    assert resolved.credential("access_token") == "tok-1"
    assert resolved.credential("app_secret") == ""
    assert "tok-1" not in repr(resolved)
    assert resolved.account_id == account.pk


def test_unknown_account_is_none_and_negatively_cached(whatsapp_account, django_assert_num_queries):
    # given
    delta = MetricDelta()

    # when
    first = tenant_resolve(channel="whatsapp", external_id="999")
    with django_assert_num_queries(0):
        second = tenant_resolve(channel="whatsapp", external_id="999")

    # then
    assert first is None
    assert second is None
    assert delta() == {"hit": 0, "miss": 0, "unknown": 2, "inactive": 0}


def test_same_external_id_on_another_channel_is_unknown(whatsapp_account):
    assert tenant_resolve(channel="sms", external_id=WA_ID) is None


def test_inactive_account_is_none(tenant):
    # given
    ChannelAccountFactory(tenant=tenant, external_id=WA_ID, is_active=False)
    delta = MetricDelta()

    # when
    resolved = tenant_resolve(channel="whatsapp", external_id=WA_ID)

    # then
    assert resolved is None
    assert delta() == {"hit": 0, "miss": 0, "unknown": 0, "inactive": 1}


def test_account_of_inactive_tenant_is_none():
    # given
    ChannelAccountFactory(tenant=TenantFactory(is_active=False), external_id=WA_ID)
    delta = MetricDelta()

    # when
    resolved = tenant_resolve(channel="whatsapp", external_id=WA_ID)

    # then
    assert resolved is None
    assert delta() == {"hit": 0, "miss": 0, "unknown": 0, "inactive": 1}


# --- invalidation (on commit) ---------------------------------------------------------------------------------
def test_changing_the_external_id_invalidates_old_and_new_ids(whatsapp_account, django_capture_on_commit_callbacks):
    # given: the old id is cached as known, the new one as unknown
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is not None
    assert tenant_resolve(channel="whatsapp", external_id="106540352200000") is None

    # when
    with django_capture_on_commit_callbacks(execute=True):
        whatsapp_account.external_id = "106540352200000"
        whatsapp_account.save()

    # then
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is None
    assert tenant_resolve(channel="whatsapp", external_id="106540352200000") == expected(whatsapp_account)


def test_cache_is_only_invalidated_when_the_transaction_commits(whatsapp_account, django_capture_on_commit_callbacks):
    # given
    cached = tenant_resolve(channel="whatsapp", external_id=WA_ID)

    # when: saved, but the transaction has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        whatsapp_account.is_active = False
        whatsapp_account.save()

        # then: other workers still see the committed state
        assert tenant_resolve(channel="whatsapp", external_id=WA_ID) == cached

    # when: the commit runs the callbacks
    for callback in callbacks:
        callback()

    # then
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is None


def test_deactivating_the_tenant_invalidates_its_accounts(
    whatsapp_account, other_tenant_account, django_capture_on_commit_callbacks
):
    # given
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is not None
    other = tenant_resolve(channel="whatsapp", external_id="209999999999999")
    delta = MetricDelta()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        tenant_deactivate(slug="sol-y-mar")

    # then
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is None
    assert tenant_resolve(channel="whatsapp", external_id="209999999999999") == other
    assert delta() == {"hit": 1, "miss": 0, "unknown": 0, "inactive": 1}


def test_reactivating_the_tenant_drops_the_negative_entry(whatsapp_account, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        tenant_deactivate(slug="sol-y-mar")
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is None

    # when
    with django_capture_on_commit_callbacks(execute=True):
        tenant_activate(slug="sol-y-mar")

    # then
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) == expected(whatsapp_account)


def test_deleting_the_account_invalidates_it(whatsapp_account, django_capture_on_commit_callbacks):
    # given
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is not None

    # when
    with django_capture_on_commit_callbacks(execute=True):
        whatsapp_account.delete()

    # then
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is None


@pytest.mark.django_db(transaction=True)
def test_deactivation_invalidates_after_a_real_commit():
    # given
    account = ChannelAccountFactory(tenant=TenantFactory(slug="sol-y-mar"), external_id=WA_ID)
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) == expected(account)

    # when
    tenant_deactivate(slug="sol-y-mar")

    # then
    assert tenant_resolve(channel="whatsapp", external_id=WA_ID) is None
