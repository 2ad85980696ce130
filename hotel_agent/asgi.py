"""ASGI entry point (daphne): HTTP and websockets.

``make run`` serves everything from one daphne process; production serves HTTP with gunicorn and ``/ws/`` with
daphne (see docker-compose.yml).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotel_agent.settings")
django_asgi_app = get_asgi_application()

from hotel_agent.warmup import warm_up_in_background  # noqa: E402

warm_up_in_background()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from channels_gateway.webchat.routing import with_webchat  # noqa: E402
from hotel_agent.routing import websocket_urlpatterns  # noqa: E402

# Staff websockets must come from our own hosts; the guest web chat (/ws/chat/…) may be embedded on a hotel's own
# site, so its consumer checks the Origin against that account's allowed origins itself.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": with_webchat(AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
    }
)
