"""Project settings, read from the environment.

Every value has an embedded development default so that ``make run`` works on a bare machine (SQLite,
local-memory cache, in-memory channel layer, eager Celery, mock PMS).  ``DJANGO_ENV=production`` turns on the
deploy hardening and refuses to start with missing or placeholder secrets (see ``hotel_agent.env``).
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from hotel_agent.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    url_password,
    validate_production_environment,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- environment -------------------------------------------------------------------------------------------
DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in ("development", "production"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"DJANGO_ENV must be 'development' or 'production', got {DJANGO_ENV!r}")
IS_PRODUCTION = DJANGO_ENV == "production"

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY", "" if IS_PRODUCTION else DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", not IS_PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if IS_PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- channels (global credentials; a ChannelAccount may override them) ---------------------------------------
WHATSAPP_VERIFY_TOKEN = env_str("WHATSAPP_VERIFY_TOKEN", "" if IS_PRODUCTION else "dev-verify-token")
WHATSAPP_APP_SECRET = env_str("WHATSAPP_APP_SECRET", "" if IS_PRODUCTION else "dev-app-secret")
WHATSAPP_ACCESS_TOKEN = env_str("WHATSAPP_ACCESS_TOKEN", "")
WHATSAPP_GRAPH_API_VERSION = "v21.0"
WHATSAPP_API_BASE_URL = env_str("WHATSAPP_API_BASE_URL", f"https://graph.facebook.com/{WHATSAPP_GRAPH_API_VERSION}")
WHATSAPP_SEND_TIMEOUT_SECONDS = env_float("WHATSAPP_SEND_TIMEOUT_SECONDS", 10.0)
WHATSAPP_SEND_MAX_RETRIES = env_int("WHATSAPP_SEND_MAX_RETRIES", 5)
# Meta documents a 3 MB maximum notification; anything larger is refused with 413 before it is read.
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 3 * 1024 * 1024)
# Messages per guest per minute answered by the bot; the excess is stored and flagged, never answered.
GUEST_FLOOD_MAX_PER_MINUTE = env_int("GUEST_FLOOD_MAX_PER_MINUTE", 20)
# Webhook requests wake one notification drain per burst; a lost drain message delays rows by at most this long.
INBOUND_DRAIN_WAKE_SECONDS = env_int("INBOUND_DRAIN_WAKE_SECONDS", 30)
# A process that saw a drain wanted this long ago skips the Redis call; drains wait twice this before they end.
INBOUND_WAKE_COALESCE_SECONDS = env_float("INBOUND_WAKE_COALESCE_SECONDS", 0.05)
# Threads of one web process that store webhook rows at the same moment share one INSERT (one commit); no timer.
INBOUND_GROUP_COMMIT = env_bool("INBOUND_GROUP_COMMIT", True)
# Failed attempts after which the beat sweep leaves a stored notification alone (kept, listed in the admin, counted in
# inbound_notifications_exhausted_total; ``manage.py reprocess_inbound`` still takes it): about three retry chains.
INBOUND_NOTIFICATION_MAX_ATTEMPTS = env_int("INBOUND_NOTIFICATION_MAX_ATTEMPTS", 40)

PMS_TYPE = env_str("PMS_TYPE", "mock")
if PMS_TYPE not in ("mock", "qloapps"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"PMS_TYPE must be 'mock' or 'qloapps', got {PMS_TYPE!r}")

if IS_PRODUCTION:
    validate_production_environment(
        secret_key=SECRET_KEY,
        allowed_hosts=ALLOWED_HOSTS,
        channel_secrets={
            "WHATSAPP_VERIFY_TOKEN": WHATSAPP_VERIFY_TOKEN,
            "WHATSAPP_APP_SECRET": WHATSAPP_APP_SECRET,
            "WHATSAPP_ACCESS_TOKEN": WHATSAPP_ACCESS_TOKEN,
        },
        optional_secrets={
            "the DATABASE_URL password": url_password(env_str("DATABASE_URL")),
            "the REDIS_URL password": url_password(env_str("REDIS_URL")),
            "the CELERY_BROKER_URL password": url_password(env_str("CELERY_BROKER_URL")),
            "LLM_API_KEY": env_str("LLM_API_KEY"),
        },
    )

# --- applications --------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "channels",
    "django_prometheus",
    "django_structlog",
    "hotel_agent",
    "tenants",
    "conversations",
    "channels_gateway",
    "pms",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "hotel_agent.middleware.CorrelationIdMiddleware",
    "hotel_agent.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "hotel_agent.urls"
WSGI_APPLICATION = "hotel_agent.wsgi.application"
ASGI_APPLICATION = "hotel_agent.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- data stores ---------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side parameter binding: values travel apart from the SQL (no client-side quoting of every value), and
    # psycopg prepares a statement once it has run ``DB_PREPARE_THRESHOLD`` times on a connection (the webhook's
    # INSERT, the drain's queries), so PostgreSQL parses and plans it once. ``DB_PREPARE_THRESHOLD=off`` for a
    # transaction-mode pooler that cannot keep prepared statements (PgBouncer < 1.21 or max_prepared_statements = 0).
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["server_side_binding"] = env_bool("DB_SERVER_SIDE_BINDING", True)
    _prepare_off = env_str("DB_PREPARE_THRESHOLD").strip().lower() in ("off", "none")
    _db_options["prepare_threshold"] = None if _prepare_off else env_int("DB_PREPARE_THRESHOLD", 5)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "hotel")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 times socket reads out after 5 s by default, exactly channels_redis' idle blocking read:
            # without socket_timeout=None every idle daphne drops a websocket every ~5 s (channels_redis#422).
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": f"{CACHE_KEY_PREFIX}:asgi",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": CACHE_KEY_PREFIX}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery (``hotel_agent/celery.py``) ----------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_timeout": 5, "socket_connect_timeout": 5}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "default")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Notifications stored while the broker was down are picked up again (the beat service in docker-compose).
    "reprocess-stuck-notifications": {
        "task": "channels_gateway.reprocess_stuck_notifications",
        "schedule": 300.0,
        "kwargs": {"older_than_minutes": 5.0},
    },
    # Guest messages left unanswered and replies left unsent (a broker that refused the task after its commit, a
    # worker killed mid-task) are enqueued again; processing and sending are idempotent.
    "sweep-unfinished-messages": {
        "task": "conversations.sweep_unfinished",
        "schedule": 300.0,
        "kwargs": {"older_than_minutes": 5.0, "max_age_hours": 24.0},
    },
}

# --- auth ----------------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "tenants.auth.ComplexityValidator"},
    {"NAME": "tenants.auth.PasswordHistoryValidator", "OPTIONS": {"history": 5}},
]
# ModelBackend plus the login lockout and the hotel admins' scoped admin permissions (``tenants.auth``).
AUTHENTICATION_BACKENDS = ["tenants.auth.LockoutModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console-queue"
LOGOUT_REDIRECT_URL = "login"
# Failed logins per username (case-insensitive) / per client address within the window lock further attempts,
# right password or not, for AUTH_LOCKOUT_SECONDS. Counters live in the cache (shared through Redis).
AUTH_LOCKOUT_FAILURES = env_int("AUTH_LOCKOUT_FAILURES", 5)
AUTH_LOCKOUT_IP_FAILURES = env_int("AUTH_LOCKOUT_IP_FAILURES", 20)
AUTH_LOCKOUT_WINDOW_SECONDS = env_int("AUTH_LOCKOUT_WINDOW_SECONDS", 900)
AUTH_LOCKOUT_SECONDS = env_int("AUTH_LOCKOUT_SECONDS", 900)
# Reverse proxies in front of Django that append to X-Forwarded-For (1 behind docker-compose's nginx); 0 trusts
# only REMOTE_ADDR. Too low behind a proxy and every client shares the proxy's address (and its IP limit).
AUTH_LOCKOUT_TRUSTED_PROXIES = env_int("AUTH_LOCKOUT_TRUSTED_PROXIES", 0)

# --- i18n ----------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English")), ("pt", _("Portuguese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files --------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- REST framework ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

# --- data upload limits --------------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = WEBHOOK_MAX_BODY_BYTES

# --- security (production) -----------------------------------------------------------------------------------
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes and scrapes come over plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- logging (django-structlog, JSON lines) ------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json")
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False

from hotel_agent.observability import configure_structlog, logging_config  # noqa: E402

LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
configure_structlog()

# --- tracing (OpenTelemetry → OTLP/Jaeger; off unless an endpoint is set) -------------------------------------
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT", "")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "hotel-agent")

# --- tenant resolution ---------------------------------------------------------------------------------------
TENANT_RESOLUTION_CACHE_TTL = env_int("TENANT_RESOLUTION_CACHE_TTL", 300)
# Per-process memo in front of that cache (0 = off): another process's account change is seen within this many s.
TENANT_RESOLUTION_LOCAL_TTL = env_int("TENANT_RESOLUTION_LOCAL_TTL", 5)

# --- conversation processing ---------------------------------------------------------------------------------
CONVERSATION_LOCK_TIMEOUT_SECONDS = env_int("CONVERSATION_LOCK_TIMEOUT_SECONDS", 60)
CONVERSATION_LOCK_WAIT_SECONDS = env_int("CONVERSATION_LOCK_WAIT_SECONDS", 10)
OUTBOUND_SEND_LEASE_SECONDS = env_int("OUTBOUND_SEND_LEASE_SECONDS", 120)

# --- NLU ------------------------------------------------------------------------------------------------------
NLU_MODEL_DIR = env_str("NLU_MODEL_DIR", str(BASE_DIR / "var" / "nlu"))
# Below this confidence the agent asks a clarification question instead of acting (per-tenant override).
NLU_CONFIDENCE_THRESHOLD = env_float("NLU_CONFIDENCE_THRESHOLD", 0.45)
# A "yes" that books, cancels or changes a stay needs at least this confidence; below it the agent asks again.
NLU_CONFIRMATION_THRESHOLD = env_float("NLU_CONFIRMATION_THRESHOLD", 0.8)

# Optional LLM engine (off by default; per tenant through the ``nlp.llm.enabled`` flag): any OpenAI-compatible
# chat-completions endpoint. Errors and timeouts fall back to the local engine.
LLM_API_BASE_URL = env_str("LLM_API_BASE_URL", "https://api.openai.com/v1")
LLM_API_KEY = env_str("LLM_API_KEY", "")
LLM_MODEL = env_str("LLM_MODEL", "gpt-4o-mini")
LLM_TIMEOUT_SECONDS = env_float("LLM_TIMEOUT_SECONDS", 4.0)

# --- sessions --------------------------------------------------------------------------------------------------
SESSION_TTL_HOURS = env_int("SESSION_TTL_HOURS", 24)

# --- feature flags ---------------------------------------------------------------------------------------------
FEATURE_FLAGS_CACHE_SECONDS = env_int("FEATURE_FLAGS_CACHE_SECONDS", 10)

# --- demo seed -----------------------------------------------------------------------------------------------
DEMO_WHATSAPP_PHONE_NUMBER_ID = env_str("DEMO_WHATSAPP_PHONE_NUMBER_ID", "100000000000001")
