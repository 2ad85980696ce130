"""Websocket routes (behind AllowedHostsOriginValidator + AuthMiddlewareStack in ``hotel_agent/asgi.py``)."""

from django.urls import path

from conversations.console.consumers import ConsoleConsumer

# The guest web chat's /ws/chat/<public_key>/ is routed ahead of these by channels_gateway.webchat.routing.
websocket_urlpatterns: list = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
]
