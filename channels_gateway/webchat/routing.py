"""Websocket routing for embedded widgets.

``hotel_agent/routing.py`` serves ``/ws/chat/<public_key>/`` behind ``AllowedHostsOriginValidator``: enough for the
hosted page (our own host), but a widget embedded on a hotel's own site connects with that site's ``Origin``, which
is not one of our ``ALLOWED_HOSTS``. ``with_webchat(app)`` routes ``/ws/chat/`` straight to ``WebChatConsumer``
(which checks ``Origin`` against the account's ``allowed_origins`` itself) and everything else to ``app``::

    "websocket": with_webchat(AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))))
"""

from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from django.urls import path

from channels_gateway.webchat.consumers import WebChatConsumer

PATH_PREFIX = "/ws/chat/"

websocket_urlpatterns = [path("ws/chat/<str:public_key>/", WebChatConsumer.as_asgi())]


def with_webchat(app: Any) -> Any:
    webchat = URLRouter(websocket_urlpatterns)

    async def router(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and scope.get("path", "").startswith(PATH_PREFIX):
            return await webchat(scope, receive, send)
        return await app(scope, receive, send)

    return router
