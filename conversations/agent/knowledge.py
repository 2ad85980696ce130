"""The agent's view of a hotel's knowledge (``tenants.knowledge``): answers per topic, hours, profile."""

from __future__ import annotations

import datetime as dt

from tenants import knowledge as tenant_knowledge
from tenants.models import Tenant


def within_business_hours(tenant: Tenant, at: dt.datetime) -> bool:
    return tenant_knowledge.is_within_business_hours(tenant, at)


def business_hours_text(tenant: Tenant) -> str:
    profile = tenant_knowledge.hotel_profile_for(tenant)
    if profile is None or getattr(profile, "reception_24h", False):
        return ""
    opens, closes = profile.reception_opens, profile.reception_closes
    if not opens or not closes:
        return ""
    return f"{opens:%H:%M}–{closes:%H:%M}"


def answer(tenant: Tenant, *, topic: str, language: str) -> str | None:
    return tenant_knowledge.knowledge_answer(tenant=tenant, topic=topic, language=language)


def topic_for(text: str, language: str) -> str | None:
    return tenant_knowledge.topic_for_text(text, language)


def topics_for(text: str, language: str) -> list[str]:
    return tenant_knowledge.topics_for_text(text, language)


def profile(tenant: Tenant):
    return tenant_knowledge.hotel_profile_for(tenant)
