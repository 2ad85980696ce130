"""Seed the demo hotel used by ``make run``: a tenant, its WhatsApp number and a staff user.

Idempotent. The staff password is regenerated on every run and printed, so a newcomer always has working
credentials. Refuses to run in production unless ``--force``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from channels_gateway.webchat.services import webchat_seed_demo
from pms.seed import pms_seed_demo
from tenants.knowledge import knowledge_seed_demo
from tenants.models import ChannelAccount, ChannelType, StaffMembership, StaffRole, Tenant

DEMO_SLUG = "demo"
DEMO_USERNAME = "recepcion"


class Command(BaseCommand):
    help = "Create or refresh the demo hotel (tenant, WhatsApp account, staff user) and print its credentials."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow running with DJANGO_ENV=production.")
        parser.add_argument("--password", help="Use this staff password instead of a random one.")

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION and not options["force"]:
            raise CommandError("seed_demo creates a demo hotel and a known staff user; refusing in production.")
        password = options["password"] or secrets.token_urlsafe(12)
        with transaction.atomic():
            tenant, _ = Tenant.objects.update_or_create(
                slug=DEMO_SLUG,
                defaults={
                    "name": "Hotel Demo Sol y Mar",
                    "timezone": "Europe/Madrid",
                    "default_language": "es",
                    "is_active": True,
                },
            )
            account, _ = ChannelAccount.objects.get_or_create(
                channel=ChannelType.WHATSAPP,
                external_id=settings.DEMO_WHATSAPP_PHONE_NUMBER_ID,
                defaults={"tenant": tenant, "display_name": "Demo WhatsApp"},
            )
            if account.tenant_id != tenant.pk:
                raise CommandError(
                    f"WhatsApp number {account.external_id} already belongs to tenant {account.tenant.slug}."
                )
            user_model = get_user_model()
            user, _ = user_model.objects.get_or_create(
                username=DEMO_USERNAME, defaults={"email": "recepcion@demo.example", "first_name": "Recepción"}
            )
            user.is_staff = True
            user.is_superuser = True
            user.set_password(password)
            user.save()
            StaffMembership.objects.update_or_create(
                user=user, tenant=tenant, defaults={"role": StaffRole.ADMIN, "is_active": True}
            )
            knowledge_seed_demo(tenant)
            rooms = pms_seed_demo(tenant)
            webchat_seed_demo(tenant)
        self.stdout.write(
            "\n".join(
                [
                    "Demo hotel ready:",
                    f"  tenant           {tenant.slug} — {tenant.name}",
                    f"  WhatsApp number  phone_number_id={account.external_id}",
                    f"  mock PMS         room types created {rooms['created']}, updated {rooms['updated']}",
                    f"  staff console    http://localhost:8000/console/  user={DEMO_USERNAME}  password={password}",
                    f"  guest web chat   http://localhost:8000/chat/{tenant.slug}/   (open it in another window)",
                    "  admin            http://localhost:8000/admin/  (same login)",
                    '  talk to it       .venv/bin/python manage.py simulate_whatsapp "Hola"',
                    "  or               .venv/bin/python manage.py chat --tenant demo",
                ]
            )
        )
