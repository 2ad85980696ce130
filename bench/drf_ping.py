"""The project's WSGI app plus one trivial DRF view, ``GET /bench/drf-ping`` — the kind of "small DRF view" the
issue's reference figure was measured with — so the ingest benchmark can compare the webhook (a DRF APIView)
with a trivial view of the same framework on the same server and workers:

    .venv/bin/python bench/webhook_ingest.py --wsgi-app bench.drf_ping:application --trivial-path /bench/drf-ping
"""

from __future__ import annotations

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.drf_ping_settings"

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
