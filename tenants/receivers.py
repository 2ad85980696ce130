"""Cache invalidation for tenant resolution.

Infrastructure, not business logic: whatever path changes an account or a tenant (admin, command, shell), the
resolution cache must forget it, so the hook sits on the model signals.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from tenants.models import ChannelAccount, Tenant
from tenants.services import tenant_resolution_invalidate, tenant_resolution_invalidate_tenant


@receiver(pre_save, sender=ChannelAccount)
def _remember_old_identity(sender: type, instance: ChannelAccount, **kwargs: Any) -> None:
    if instance.pk:
        old = ChannelAccount.objects.filter(pk=instance.pk).values_list("channel", "external_id").first()
        if old and old != (instance.channel, instance.external_id):
            tenant_resolution_invalidate(channel=old[0], external_id=old[1])


@receiver(post_save, sender=ChannelAccount)
@receiver(post_delete, sender=ChannelAccount)
def _account_changed(sender: type, instance: ChannelAccount, **kwargs: Any) -> None:
    tenant_resolution_invalidate(channel=instance.channel, external_id=instance.external_id)


@receiver(post_save, sender=Tenant)
def _tenant_changed(sender: type, instance: Tenant, **kwargs: Any) -> None:
    tenant_resolution_invalidate_tenant(tenant=instance)
