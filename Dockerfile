# syntax=docker/dockerfile:1
# Production image of the hotel agent. One image, several processes (see docker-compose.yml):
#   api     gunicorn -c gunicorn.conf.py hotel_agent.wsgi:application   (default command)
#   ws      daphne hotel_agent.asgi:application                         (websockets under /ws/)
#   worker  celery -A hotel_agent worker -l info
#   beat    celery -A hotel_agent beat -l info
#   migrate python manage.py migrate --noinput
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=hotel_agent.settings

# Unprivileged runtime user with a writable home (and nothing else writable outside /app/var and /tmp).
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so code changes reuse this layer. Every pinned package ships a manylinux wheel
# (psycopg[binary] bundles libpq), so no compiler or system library is needed.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# collectstatic runs with the *production* settings: they select whitenoise's CompressedManifestStaticFilesStorage,
# whose manifest (staticfiles/staticfiles.json) must exist at runtime or every {% static %} fails. Production
# settings refuse placeholder secrets, so this one command gets throwaway random values (hex: never mistaken for
# a placeholder). They live only in this RUN's environment and are not stored in the image.
RUN DJANGO_ENV=production \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_hex(32))')" \
    WHATSAPP_VERIFY_TOKEN="$(python -c 'import secrets; print(secrets.token_hex(16))')" \
    WHATSAPP_APP_SECRET="$(python -c 'import secrets; print(secrets.token_hex(16))')" \
    WHATSAPP_ACCESS_TOKEN="$(python -c 'import secrets; print(secrets.token_hex(16))')" \
    ALLOWED_HOSTS=localhost \
    sh -c 'python manage.py collectstatic --noinput && python manage.py nlu train' \
 && python -m compileall -q /app

# Runtime state owned by the app user: the Celery worker's Prometheus multiprocess files live in
# /app/var/worker-metrics (a named volume, which copies this ownership when it is first created).
RUN chmod 0755 /app/docker/app/entrypoint.sh \
 && mkdir -p /app/var/worker-metrics \
 && chown -R app:app /app/var

USER app

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/app/healthcheck.py", "http", "http://127.0.0.1:8000/health/ready"]

ENTRYPOINT ["/app/docker/app/entrypoint.sh"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "hotel_agent.wsgi:application"]
