"""Feature flags: resolution order, unknown names, caching and invalidation, degraded reads, the ``flags`` command
and the admin page."""

from __future__ import annotations

import io
import json
import threading
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import IntegrityError, OperationalError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants import flags
from tenants.flags import (
    DEFAULT_FLAGS,
    FLAG_DESCRIPTIONS,
    UnknownFlag,
    aflag_enabled,
    flag_enabled,
    flag_set,
    flag_state,
    flag_unset,
    flags_list,
)
from tenants.models import FeatureFlag
from tests.conftest import REAL_POSTGRES
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

LLM = "nlp.llm.enabled"  # default False
ENHANCED = "nlp.fallback.enhanced"  # default True


@pytest.fixture(autouse=True)
def _fresh_memo():
    flags.flags_local_cache_clear()
    yield
    flags.flags_local_cache_clear()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a write and its on-commit callbacks, as a committed transaction would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def tenant_a(db):
    return TenantFactory(slug="hotel-a")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(slug="hotel-b")


def rows() -> list[tuple]:
    found = FeatureFlag.objects.values_list("name", "tenant__slug", "enabled")
    return sorted(found, key=lambda row: (row[0], row[1] or ""))  # global first, whatever the database does with NULL


# --- defaults -----------------------------------------------------------------------------------------------------
def test_default_flags_and_their_descriptions():
    assert DEFAULT_FLAGS == {
        "nlp.fallback.enhanced": True,
        "tenancy.dynamic.enabled": True,
        "features.interactive_messages": False,
        "nlp.llm.enabled": False,
        "service_requests.to_staff": False,
        "escalation.after_hours_urgent": True,
        "escalation.urgent": True,
        "audio.processor.optimized": False,
    }
    assert set(FLAG_DESCRIPTIONS) == set(DEFAULT_FLAGS)
    assert all(d.strip() and "\n" not in d for d in FLAG_DESCRIPTIONS.values())


@pytest.mark.parametrize("name", sorted(DEFAULT_FLAGS))
def test_without_overrides_every_flag_has_its_default(name, tenant_a):
    assert flag_enabled(name) is DEFAULT_FLAGS[name]
    assert flag_enabled(name, tenant=tenant_a) is DEFAULT_FLAGS[name]
    assert rows() == []


# --- resolution order ---------------------------------------------------------------------------------------------
def test_tenant_override_beats_global_beats_default(tenant_a, commit):
    # given a global override
    commit(flag_set, LLM, True)
    assert flag_enabled(LLM, tenant=tenant_a) is True
    assert flag_enabled(LLM) is True

    # when the hotel has its own
    commit(flag_set, LLM, False, tenant=tenant_a)

    # then the hotel's wins for the hotel only
    assert flag_enabled(LLM, tenant=tenant_a) is False
    assert flag_enabled(LLM) is True

    # and removing them walks back down the chain
    assert commit(flag_unset, LLM, tenant=tenant_a) is True
    assert flag_enabled(LLM, tenant=tenant_a) is True
    assert commit(flag_unset, LLM) is True
    assert flag_enabled(LLM, tenant=tenant_a) is False
    assert rows() == []


def test_a_tenant_id_works_like_the_tenant(tenant_a, commit):
    commit(flag_set, ENHANCED, False, tenant=tenant_a.pk)

    assert flag_enabled(ENHANCED, tenant=tenant_a) is False
    assert flag_enabled(ENHANCED, tenant=tenant_a.pk) is False
    assert rows() == [(ENHANCED, "hotel-a", False)]


def test_set_is_idempotent_and_updates_in_place(tenant_a, commit):
    first = commit(flag_set, LLM, True, tenant=tenant_a)
    second = commit(flag_set, LLM, False, tenant=tenant_a)

    assert first.pk == second.pk
    assert rows() == [(LLM, "hotel-a", False)]


def test_unset_without_override_is_a_no_op(tenant_a, commit):
    assert commit(flag_unset, LLM, tenant=tenant_a) is False
    assert rows() == []


def test_only_one_global_row_per_flag_even_bypassing_the_service():
    FeatureFlag.objects.create(name=LLM, tenant=None, enabled=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        FeatureFlag.objects.create(name=LLM, tenant=None, enabled=False)

    assert rows() == [(LLM, None, True)]


# --- cross-tenant -------------------------------------------------------------------------------------------------
def test_one_hotels_override_never_reaches_another(tenant_a, tenant_b, commit):
    # given both hotels' values are cached
    assert flag_enabled(LLM, tenant=tenant_a) is False
    assert flag_enabled(LLM, tenant=tenant_b) is False

    # when hotel A turns the flag on
    commit(flag_set, LLM, True, tenant=tenant_a)

    # then only A sees it, from the cache or not
    assert flag_enabled(LLM, tenant=tenant_a) is True
    assert flag_enabled(LLM, tenant=tenant_b) is False
    assert flag_enabled(LLM) is False
    flags.flags_local_cache_clear()
    cache.clear()
    assert flag_enabled(LLM, tenant=tenant_b) is False
    assert flag_state(LLM, tenant=tenant_b) == {
        "name": LLM,
        "enabled": False,
        "source": "default",
        "description": FLAG_DESCRIPTIONS[LLM],
    }


def test_unsetting_one_hotels_override_leaves_the_others(tenant_a, tenant_b, commit):
    commit(flag_set, ENHANCED, False, tenant=tenant_a)
    commit(flag_set, ENHANCED, False, tenant=tenant_b)

    commit(flag_unset, ENHANCED, tenant=tenant_a)

    assert flag_enabled(ENHANCED, tenant=tenant_a) is True
    assert flag_enabled(ENHANCED, tenant=tenant_b) is False
    assert rows() == [(ENHANCED, "hotel-b", False)]


# --- unknown names ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda: flag_enabled("nlp.fallback.enhance"),
        lambda: async_to_sync(aflag_enabled)("nlp.fallback.enhance"),
        lambda: flag_set("nlp.fallback.enhance", True),
        lambda: flag_unset("nlp.fallback.enhance"),
        lambda: flag_state("nlp.fallback.enhance"),
    ],
    ids=["enabled", "aenabled", "set", "unset", "state"],
)
def test_unknown_names_raise_everywhere_and_create_nothing(call):
    with pytest.raises(UnknownFlag) as excinfo:
        call()

    assert isinstance(excinfo.value, ValueError)
    assert str(excinfo.value) == 'Unknown flag "nlp.fallback.enhance" (did you mean "nlp.fallback.enhanced"?).'
    assert rows() == []


def test_unknown_name_with_nothing_close():
    with pytest.raises(UnknownFlag, match=r'^Unknown flag "bogus"\.$'):
        flag_enabled("bogus")


# --- caching ------------------------------------------------------------------------------------------------------
def test_reads_are_served_from_the_cache(tenant_a):
    # given a cached read
    assert flag_enabled(LLM, tenant=tenant_a) is False
    # when a row changes behind the services' back
    FeatureFlag.objects.create(name=LLM, tenant=tenant_a, enabled=True)
    flags.flags_local_cache_clear()

    # then the cached value stands until the cache forgets it
    assert flag_enabled(LLM, tenant=tenant_a) is False
    cache.clear()
    flags.flags_local_cache_clear()
    assert flag_enabled(LLM, tenant=tenant_a) is True


def test_set_and_unset_invalidate_the_cache(tenant_a, commit):
    assert flag_enabled(LLM, tenant=tenant_a) is False  # cached

    commit(flag_set, LLM, True, tenant=tenant_a)
    assert flag_enabled(LLM, tenant=tenant_a) is True

    commit(flag_unset, LLM, tenant=tenant_a)
    assert flag_enabled(LLM, tenant=tenant_a) is False


def test_a_global_write_reaches_hotels_with_cached_values(tenant_a, commit):
    assert flag_enabled(LLM, tenant=tenant_a) is False  # tenant and global entries cached

    commit(flag_set, LLM, True)

    assert flag_enabled(LLM, tenant=tenant_a) is True


def test_the_cache_is_dropped_again_on_commit(tenant_a, django_capture_on_commit_callbacks):
    # given a write whose transaction has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        flag_set(LLM, True, tenant=tenant_a)
    # and a concurrent reader that cached the old value in the meantime
    cache.set(flags._cache_key(LLM, tenant_a.pk), flags._NO_OVERRIDE)
    cache.set(flags._cache_key(LLM, None), flags._NO_OVERRIDE)
    flags.flags_local_cache_clear()
    assert flag_enabled(LLM, tenant=tenant_a) is False

    # when the transaction commits
    assert len(callbacks) == 1
    callbacks[0]()

    # then the new value is read
    assert flag_enabled(LLM, tenant=tenant_a) is True


def test_the_memo_spares_the_cache_for_a_few_seconds(tenant_a, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(flags, "_clock", lambda: now[0])
    assert flag_enabled(ENHANCED, tenant=tenant_a) is True

    with mock.patch.object(flags, "cache") as fake_cache:
        assert flag_enabled(ENHANCED, tenant=tenant_a) is True
        assert fake_cache.get_many.call_count == 0

        now[0] += flags.MEMO_SECONDS + 0.01
        fake_cache.get_many.return_value = {}
        assert flag_enabled(ENHANCED, tenant=tenant_a) is True
        assert fake_cache.get_many.call_count == 1


def test_memo_lives_no_longer_than_a_few_seconds():
    assert 0 < flags.MEMO_SECONDS <= 5


@override_settings(FEATURE_FLAGS_CACHE_SECONDS=0)
def test_zero_cache_seconds_reads_the_database_every_time(tenant_a, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert flag_enabled(LLM, tenant=tenant_a) is False
    FeatureFlag.objects.create(name=LLM, tenant=tenant_a, enabled=True)
    with django_assert_num_queries(1):
        assert flag_enabled(LLM, tenant=tenant_a) is True


def test_a_cached_read_costs_no_query(tenant_a, django_assert_num_queries):
    flag_enabled(LLM, tenant=tenant_a)
    flags.flags_local_cache_clear()

    with django_assert_num_queries(0):
        assert flag_enabled(LLM, tenant=tenant_a) is False


# --- degraded reads -----------------------------------------------------------------------------------------------
class BrokenCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("redis down")

        return fail


def test_cache_down_reads_the_database(tenant_a, caplog):
    FeatureFlag.objects.create(name=LLM, tenant=tenant_a, enabled=True)

    with mock.patch.object(flags, "cache", BrokenCache()):
        assert flag_enabled(LLM, tenant=tenant_a) is True
        assert flag_enabled(LLM) is False

    assert "feature_flag_cache_unavailable" in caplog.text


def test_writes_still_work_with_the_cache_down(tenant_a, commit):
    with mock.patch.object(flags, "cache", BrokenCache()):
        commit(flag_set, LLM, True, tenant=tenant_a)
        assert flag_enabled(LLM, tenant=tenant_a) is True

    assert rows() == [(LLM, "hotel-a", True)]


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}


def test_unreachable_redis_reads_the_database(tenant_a):
    FeatureFlag.objects.create(name=ENHANCED, tenant=tenant_a, enabled=False)

    with override_settings(CACHES=UNREACHABLE_REDIS):
        assert flag_enabled(ENHANCED, tenant=tenant_a) is False
        assert async_to_sync(aflag_enabled)(ENHANCED, tenant=tenant_a.pk) is False


def test_database_down_falls_back_to_defaults_without_memoizing(tenant_a, caplog):
    FeatureFlag.objects.create(name=ENHANCED, tenant=tenant_a, enabled=False)

    with mock.patch.object(FeatureFlag.objects, "filter", side_effect=OperationalError("db down")):
        assert flag_enabled(ENHANCED, tenant=tenant_a) is True

    assert "feature_flag_database_unavailable" in caplog.text
    assert flag_enabled(ENHANCED, tenant=tenant_a) is False


# --- async --------------------------------------------------------------------------------------------------------
def test_aflag_enabled_follows_the_same_rules(tenant_a, tenant_b, commit):
    commit(flag_set, LLM, True)
    commit(flag_set, LLM, False, tenant=tenant_b)

    assert async_to_sync(aflag_enabled)(LLM, tenant=tenant_a) is True
    assert async_to_sync(aflag_enabled)(LLM, tenant=tenant_b) is False
    assert async_to_sync(aflag_enabled)(ENHANCED) is True
    # a second call is a memo hit and agrees
    assert async_to_sync(aflag_enabled)(LLM, tenant=tenant_b) is False


# --- listing ------------------------------------------------------------------------------------------------------
def test_flags_list_gives_every_flag_with_its_source(tenant_a, tenant_b, commit):
    commit(flag_set, LLM, True)
    commit(flag_set, ENHANCED, False, tenant=tenant_a)
    commit(flag_set, "audio.processor.optimized", True, tenant=tenant_b)

    listed = {s["name"]: (s["enabled"], s["source"]) for s in flags_list(tenant=tenant_a)}

    assert [s["name"] for s in flags_list(tenant=tenant_a)] == sorted(DEFAULT_FLAGS)
    assert listed[LLM] == (True, "global")
    assert listed[ENHANCED] == (False, "tenant")
    assert listed["audio.processor.optimized"] == (False, "default")
    assert {s["name"]: s["source"] for s in flags_list()}[ENHANCED] == "default"
    assert all(s["description"] == FLAG_DESCRIPTIONS[s["name"]] for s in flags_list())


# --- command ------------------------------------------------------------------------------------------------------
def run(*args: str) -> str:
    out = io.StringIO()
    call_command("flags", *args, stdout=out)
    return out.getvalue()


def test_command_list_table(tenant_a, commit):
    commit(flag_set, LLM, True, tenant=tenant_a)

    lines = run("list", "--tenant", "hotel-a").splitlines()

    assert lines[0].split() == ["NAME", "ENABLED", "SOURCE", "DESCRIPTION"]
    assert len(lines) == 1 + len(DEFAULT_FLAGS)
    llm_line = next(line for line in lines if line.startswith(LLM))
    assert llm_line.split()[:3] == [LLM, "true", "tenant"]
    assert llm_line.endswith(FLAG_DESCRIPTIONS[LLM])


def test_command_list_json(commit):
    commit(flag_set, ENHANCED, False)

    data = json.loads(run("list", "--json"))

    assert data == [
        {
            "name": name,
            "enabled": False if name == ENHANCED else DEFAULT_FLAGS[name],
            "source": "global" if name == ENHANCED else "default",
            "description": FLAG_DESCRIPTIONS[name],
        }
        for name in sorted(DEFAULT_FLAGS)
    ]


def test_command_get_shows_value_and_source(tenant_a, commit):
    assert run("get", LLM) == f"{LLM}: false (default)\n"
    commit(flag_set, LLM, True)
    assert run("get", LLM) == f"{LLM}: true (global override)\n"
    assert run("get", LLM, "--tenant", "hotel-a") == f"{LLM}: true (global override)\n"
    commit(flag_set, LLM, False, tenant=tenant_a)
    assert run("get", LLM, "--tenant", "hotel-a") == f'{LLM}: false (hotel "hotel-a" override)\n'


def test_command_set_and_unset(tenant_a, django_capture_on_commit_callbacks):
    assert flag_enabled(LLM, tenant=tenant_a) is False  # cached before the command runs

    with django_capture_on_commit_callbacks(execute=True):
        assert run("set", LLM, "true", "--tenant", "hotel-a") == f'{LLM}: hotel "hotel-a" override set to true.\n'
        assert run("set", LLM, "FALSE") == f"{LLM}: global override set to false.\n"
    assert rows() == [(LLM, None, False), (LLM, "hotel-a", True)]
    assert flag_enabled(LLM, tenant=tenant_a) is True

    with django_capture_on_commit_callbacks(execute=True):
        assert (
            run("unset", LLM, "--tenant", "hotel-a")
            == f'{LLM}: hotel "hotel-a" override removed; now false (global override).\n'
        )
        assert run("unset", LLM) == f"{LLM}: global override removed; now false (default).\n"
        assert run("unset", LLM) == f"{LLM}: no global override to remove; still false (default).\n"
    assert rows() == []
    assert flag_enabled(LLM, tenant=tenant_a) is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "nlp.llm"], 'Unknown flag "nlp.llm" (did you mean "nlp.llm.enabled"?).'),
        (["set", "bogus", "true"], 'Unknown flag "bogus".'),
        (["set", "bogus", "maybe", "--tenant", "nope"], 'Unknown flag "bogus".'),
        (["unset", "bogus", "--tenant", "hotel-a"], 'Unknown flag "bogus".'),
        (["set", LLM, "maybe"], 'Invalid value "maybe": use true or false.'),
        (["set", LLM, "", "--tenant", "hotel-a"], 'Invalid value "": use true or false.'),
        (["set", LLM, "true", "--tenant", "nope"], 'Unknown hotel "nope".'),
        (["unset", LLM, "--tenant", "nope"], 'Unknown hotel "nope".'),
        (["get", LLM, "--tenant", "nope"], 'Unknown hotel "nope".'),
        (["list", "--tenant", "nope"], 'Unknown hotel "nope".'),
    ],
    ids=[
        "get-unknown-flag",
        "set-unknown-flag",
        "unknown-flag-first",
        "unset-unknown-flag",
        "bad-value",
        "empty-value",
        "set-unknown-hotel",
        "unset-unknown-hotel",
        "get-unknown-hotel",
        "list-unknown-hotel",
    ],
)
def test_command_errors_are_one_line_and_write_nothing(args, message, tenant_a, commit):
    commit(flag_set, LLM, True, tenant=tenant_a)
    before = rows()

    with pytest.raises(CommandError) as excinfo:
        run(*args)

    assert str(excinfo.value) == message
    assert rows() == before


# --- admin --------------------------------------------------------------------------------------------------------
@pytest.fixture
def english_admin(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


def test_admin_pages_open(english_admin, tenant_a):
    flag = FeatureFlag.objects.create(name=LLM, tenant=tenant_a, enabled=True)
    FeatureFlag.objects.create(name=LLM, tenant=None, enabled=False)

    assert english_admin.get(reverse("admin:tenants_featureflag_changelist")).status_code == 200
    assert english_admin.get(reverse("admin:tenants_featureflag_add")).status_code == 200
    assert english_admin.get(reverse("admin:tenants_featureflag_change", args=[flag.pk])).status_code == 200


def test_admin_add_offers_only_known_names_and_invalidates(english_admin, tenant_a, django_capture_on_commit_callbacks):
    assert flag_enabled(LLM, tenant=tenant_a) is False  # cached
    form = english_admin.get(reverse("admin:tenants_featureflag_add")).context["adminform"].form
    assert [value for value, _label in form.fields["name"].choices] == sorted(DEFAULT_FLAGS)

    with django_capture_on_commit_callbacks(execute=True):
        response = english_admin.post(
            reverse("admin:tenants_featureflag_add"), {"name": LLM, "tenant": tenant_a.pk, "enabled": "on"}
        )

    assert response.status_code == 302
    assert rows() == [(LLM, "hotel-a", True)]
    assert flag_enabled(LLM, tenant=tenant_a) is True


def test_admin_refuses_unknown_names_and_duplicates(english_admin, tenant_a):
    FeatureFlag.objects.create(name=LLM, tenant=None, enabled=True)

    unknown = english_admin.post(reverse("admin:tenants_featureflag_add"), {"name": "bogus", "enabled": "on"})
    duplicate = english_admin.post(reverse("admin:tenants_featureflag_add"), {"name": LLM, "tenant": ""})

    assert unknown.status_code == 200
    assert "Select a valid choice" in unknown.content.decode()
    assert duplicate.status_code == 200
    assert "There is already a global override for this flag." in duplicate.content.decode()
    assert rows() == [(LLM, None, True)]


def test_admin_delete_invalidates(english_admin, tenant_a, django_capture_on_commit_callbacks):
    flag = FeatureFlag.objects.create(name=ENHANCED, tenant=tenant_a, enabled=False)
    assert flag_enabled(ENHANCED, tenant=tenant_a) is False  # cached

    with django_capture_on_commit_callbacks(execute=True):
        response = english_admin.post(
            reverse("admin:tenants_featureflag_changelist"),
            {"action": "delete_selected", "_selected_action": [flag.pk], "post": "yes"},
        )

    assert response.status_code == 302
    assert rows() == []
    assert flag_enabled(ENHANCED, tenant=tenant_a) is True


# --- concurrency (PostgreSQL) -------------------------------------------------------------------------------------
@pytest.mark.skipif(not REAL_POSTGRES, reason="needs a real PostgreSQL (DATABASE_URL=postgres://…)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_sets_converge_on_one_row_per_scope():
    tenant = TenantFactory(slug="hotel-a")
    calls = [lambda: flag_set(LLM, True)] * 4 + [lambda: flag_set(LLM, False, tenant=tenant.pk)] * 4
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def worker(call):
        try:
            barrier.wait(timeout=10)
            call()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert rows() == [(LLM, None, True), (LLM, "hotel-a", False)]
    flags.flags_local_cache_clear()
    assert flag_enabled(LLM, tenant=tenant) is False
    assert flag_enabled(LLM) is True


def test_admin_changelist_queries_do_not_grow_with_rows(english_admin):
    def make():
        FeatureFlag.objects.create(name=LLM, tenant=TenantFactory(), enabled=True)

    url = reverse("admin:tenants_featureflag_changelist")
    make()
    with CaptureQueriesContext(connection) as one_row:
        assert english_admin.get(url).status_code == 200
    make()
    FeatureFlag.objects.create(name=LLM, tenant=None, enabled=False)

    with CaptureQueriesContext(connection) as three_rows:
        response = english_admin.get(url)

    assert response.context["cl"].result_count == 3
    assert len(three_rows) == len(one_row)
