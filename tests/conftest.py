from __future__ import annotations

import datetime as dt
import itertools
import os
import zoneinfo

import pytest
from django.core.cache import cache
from django.utils import timezone

from hotel_agent.celery import app as celery_app
from pms.breakers import reset_breakers
from pms.seed import pms_seed_demo
from tenants.flags import flags_local_cache_clear
from tenants.knowledge import knowledge_seed_demo
from tenants.services import tenant_resolution_local_clear
from tests.factories import ChannelAccountFactory, TenantFactory

REAL_REDIS = bool(os.environ.get("REDIS_URL"))
REAL_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def pytest_configure(config):
    """Hashing passwords with a million PBKDF2 rounds per factory user makes the suite crawl; tests use MD5."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache_and_eager_celery(request):
    """Each test starts with an empty cache, no PMS circuit breaker state in this process and, unless marked
    ``e2e``, runs Celery tasks in-process."""
    cache.clear()
    flags_local_cache_clear()
    tenant_resolution_local_clear()
    reset_breakers()
    eager = "e2e" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = previous
    cache.clear()
    flags_local_cache_clear()
    tenant_resolution_local_clear()
    reset_breakers()


# --- the agent's tests: a seeded demo hotel on a fixed day ------------------------------------------------------------
AGENT_TODAY = dt.date(2026, 3, 4)
AGENT_NOW = dt.datetime(2026, 3, 4, 11, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Madrid"))  # reception open 08:00–23:00


@pytest.fixture
def agent_clock(monkeypatch):
    """``timezone.now`` frozen at ``AGENT_NOW``, a millisecond further per call (rows keep their order)."""
    ticks = itertools.count()
    monkeypatch.setattr(timezone, "now", lambda: AGENT_NOW + dt.timedelta(milliseconds=next(ticks)))


def seeded_hotel(slug: str, name: str = "Hotel Demo"):
    """A hotel with the demo knowledge base and mock-PMS rooms."""
    tenant = TenantFactory(slug=slug, name=name)
    knowledge_seed_demo(tenant)
    pms_seed_demo(tenant)
    return tenant


@pytest.fixture
def rehearsal(hotel):
    """Guest turns through the real pipeline, for the module's ``hotel`` fixture, on ``AGENT_TODAY``."""
    from conversations.simulator import Rehearsal

    return Rehearsal(tenant=hotel, today=AGENT_TODAY)


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="sol-y-mar", name="Hotel Sol y Mar")


@pytest.fixture
def whatsapp_account(tenant):
    return ChannelAccountFactory(tenant=tenant, external_id="106540352242922")


@pytest.fixture
def other_tenant_account(db):
    other = TenantFactory(slug="otro-hotel", name="Otro Hotel", default_language="en")
    return ChannelAccountFactory(tenant=other, external_id="209999999999999")


class GreetingEngine:
    """A deterministic NLU stand-in for pipeline tests that are about delivery, not understanding."""

    name = "greeting-stub"

    def parse(self, text, *, tenant, context):
        from conversations.agent.nlu import NLUResult

        return NLUResult(intent="greeting", confidence=1.0, language=context.get("language") or "es")


@pytest.fixture
def greeting_nlu(monkeypatch):
    """Every message is understood as a greeting, so every message gets exactly one bot reply."""
    monkeypatch.setattr("conversations.agent.orchestrator.engine_for", lambda tenant: GreetingEngine())
