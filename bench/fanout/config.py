"""Constants of the console fan-out benchmark (``bench/console_fanout.py``)."""

import re

from bench.common.procs import make_log

PG_DB = "bench_fanout"
PG_BENCH_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
REDIS_BENCH_URL = "redis://127.0.0.1:6379/8"
TENANT_SLUG = "bench-fanout"
TENANT_NAME = "Bench fan-out"
PHONE_NUMBER_ID = "100000000000088"
APP_SECRET = "bench-fanout-app-secret-7a1d"  # the servers get it through WHATSAPP_APP_SECRET; never a real secret
USER_PREFIX = "bench-fanout-staff-"
WEBHOOK_PATH = "/webhooks/whatsapp/"
WS_PATH = "/ws/console/"
LIVE_PATH = "/health/live"
HEARTBEAT_SECONDS = 25.0  # conversations.console.consumers default (CONSOLE_HEARTBEAT_SECONDS)
TARGET_P95_MS = 200.0
TARGET_IDLE = 500
MARKER_RE = re.compile(r"FANOUT-([0-9a-f]{8}-\d{6})")
AT_RE = re.compile(r'"at": ?"([^"]+)"')  # the envelope's "at" (payload keys are "created_at" etc.)


log = make_log("fanout")
