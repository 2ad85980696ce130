"""Constants of the webhook ingestion benchmark (``bench/webhook_ingest.py``)."""

from bench.common.procs import make_log

PG_DB = "bench_ingest"
PG_BENCH_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
REDIS_BENCH_URL = "redis://127.0.0.1:6379/9"
TENANT_SLUG = "bench"
TENANT_NAME = "Bench"
PHONE_NUMBER_ID = "100000000000099"
APP_SECRET = "bench-app-secret-5f0c1e"  # the server gets it through WHATSAPP_APP_SECRET; never a real secret
WEBHOOK_PATH = "/webhooks/whatsapp/"
DEFAULT_WSGI_APP = "hotel_agent.wsgi:application"
LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
QUIET_CORES = 0.15  # other jobs' CPU use (cores) below which a phase counts as undisturbed
GUEST_TEXTS = (
    "Hola, ¿a qué hora es el desayuno?",
    "Hi! Is late check-out possible tomorrow?",
    "¿Tenéis parking en el hotel?",
    "Bom dia, qual é a senha do wifi?",
    "Could you book a table for two at 21:00?",
)


log = make_log("bench")
