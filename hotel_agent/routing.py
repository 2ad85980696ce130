"""Websocket routes (behind AllowedHostsOriginValidator + AuthMiddlewareStack in ``hotel_agent/asgi.py``)."""

from django.urls import path

from channels_gateway.webchat.consumers import WebChatConsumer
from conversations.console.consumers import ConsoleConsumer

websocket_urlpatterns: list = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
    path("ws/chat/<str:public_key>/", WebChatConsumer.as_asgi()),
]
