"""WSGI entry point (gunicorn serves HTTP in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotel_agent.settings")

application = get_wsgi_application()

from hotel_agent.warmup import warm_up_web_worker  # noqa: E402

warm_up_web_worker()
