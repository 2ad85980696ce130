"""Bench data, created inside Django (``manage.py shell -c "from bench.console_fanout import setup_data; ..."``)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.fanout.config import PHONE_NUMBER_ID, TENANT_NAME, TENANT_SLUG, USER_PREFIX


def setup_data(consoles: int, out_path: str) -> None:
    """Tenant + WhatsApp account + ``consoles`` staff users with memberships and logged-in sessions, in bulk.

    Idempotent: the previous run's bench users and all sessions of this disposable database are replaced."""
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from tenants.models import ChannelAccount, StaffMembership, Tenant
    from tenants.selectors import ACTIVE_TENANT_SESSION_KEY

    user_model = get_user_model()
    backend = settings.AUTHENTICATION_BACKENDS[0]
    with transaction.atomic():
        tenant, _ = Tenant.objects.get_or_create(slug=TENANT_SLUG, defaults={"name": TENANT_NAME})
        account, _ = ChannelAccount.objects.get_or_create(
            channel="whatsapp", external_id=PHONE_NUMBER_ID, defaults={"tenant": tenant, "display_name": "Bench"}
        )
        assert account.tenant_id == tenant.pk, "the bench WhatsApp account belongs to another tenant"
        if not tenant.is_active:
            tenant.is_active = True
            tenant.save()
        if not account.is_active or account.credential("app_secret"):
            account.is_active = True
            account.credentials = {k: v for k, v in (account.credentials or {}).items() if k != "app_secret"}
            account.save()
        user_model.objects.filter(username__startswith=USER_PREFIX).delete()
        Session.objects.all().delete()
        password = make_password(get_random_string(24))  # hashed once: every bench user gets the same hash
        users = user_model.objects.bulk_create(
            [user_model(username=f"{USER_PREFIX}{i:05d}", password=password, is_active=True) for i in range(consoles)]
        )
        if any(u.pk is None for u in users):  # backends without RETURNING
            users = list(user_model.objects.filter(username__startswith=USER_PREFIX).order_by("username"))
        StaffMembership.objects.bulk_create([StaffMembership(user=u, tenant=tenant, role="agent") for u in users])
        store = SessionStore()
        expires = timezone.now() + timedelta(days=1)
        rows, keys = [], []
        for user in users:
            key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: backend,
                HASH_SESSION_KEY: user.get_session_auth_hash(),
                ACTIVE_TENANT_SESSION_KEY: tenant.pk,
            }
            rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
            keys.append(key)
        Session.objects.bulk_create(rows)
    Path(out_path).write_text(
        json.dumps({"tenant": tenant.pk, "account": account.pk, "cookie": settings.SESSION_COOKIE_NAME, "keys": keys})
    )
