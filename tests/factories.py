"""factory_boy factories shared by the suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from conversations.models import Conversation, DeliveryStatus, Direction, Guest, Message, Sender
from tenants.models import ChannelAccount, ChannelType, StaffMembership, Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"hotel-{n}")
    name = factory.Sequence(lambda n: f"Hotel {n}")
    timezone = "Europe/Madrid"
    default_language = "es"


class ChannelAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelAccount

    tenant = factory.SubFactory(TenantFactory)
    channel = ChannelType.WHATSAPP
    external_id = factory.Sequence(lambda n: f"10654035224{n:04d}")
    display_name = factory.LazyAttribute(lambda o: f"{o.tenant.name} WhatsApp")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("Correct-Horse-Battery-9")  # hashed before the row is saved


class StaffMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)


class GuestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guest

    tenant = factory.SubFactory(TenantFactory)
    channel = ChannelType.WHATSAPP
    address = factory.Sequence(lambda n: f"34699{n:06d}")  # clear of the 3460000000x senders tests use
    display_name = "Ana García"


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    tenant = factory.SubFactory(TenantFactory)
    guest = factory.SubFactory(GuestFactory, tenant=factory.SelfAttribute("..tenant"))
    channel_account = factory.SubFactory(ChannelAccountFactory, tenant=factory.SelfAttribute("..tenant"))


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    tenant = factory.SelfAttribute("conversation.tenant")
    channel_account = factory.SelfAttribute("conversation.channel_account")
    direction = Direction.OUTBOUND
    sender = Sender.BOT
    text = "Hola"
    status = DeliveryStatus.QUEUED
