"""End to end on real services: a signed webhook in, a real Celery worker process answers, the reply reaches a
local fake Graph API with the right number, recipient and bearer token."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from conversations.models import DeliveryStatus, Direction, Message, Sender
from hotel_agent.celery import app as celery_app
from tests.conftest import REAL_POSTGRES, REAL_REDIS
from tests.factories import ChannelAccountFactory, TenantFactory
from tests.fake_servers import FakeGraphAPI
from tests.whatsapp_payloads import encode, envelope, sign, text_message

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "e2e-access-token-" + uuid.uuid4().hex

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (REAL_REDIS and REAL_POSTGRES), reason="needs REDIS_URL and a PostgreSQL DATABASE_URL"),
]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_queue():
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    yield queue
    celery_app.conf.task_default_queue = previous


@pytest.fixture
def worker(celery_queue, tmp_path):
    """Start a real Celery worker on the test database; yields (fake graph api, log path)."""
    log_path = tmp_path / "worker.log"
    with FakeGraphAPI() as graph:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "WHATSAPP_API_BASE_URL": graph.base_url,
            "WHATSAPP_ACCESS_TOKEN": TOKEN,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_TASK_DEFAULT_QUEUE": celery_queue,
            "LOG_LEVEL": "INFO",
        }
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "hotel_agent",
                    "worker",
                    "--pool",
                    "solo",
                    "-Q",
                    celery_queue,
                    "-l",
                    "info",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            while "ready" not in log_path.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.2)
            assert "ready" in log_path.read_text(), log_path.read_text()[-3000:]
            yield graph, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.django_db(transaction=True)
def test_signed_webhook_is_answered_by_a_real_worker_through_the_graph_api(worker):
    graph, log_path = worker
    tenant = TenantFactory(slug="e2e-hotel", name="Hotel E2E")
    account = ChannelAccountFactory(tenant=tenant, external_id="106540352299999")
    inbound = text_message("Hola, buenas tardes", sender="34611222333")
    body = encode(envelope(account.external_id, messages=[inbound]))

    response = Client().post(
        "/webhooks/whatsapp/", body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign(body)
    )

    assert response.status_code == 200
    correlation_id = response["X-Correlation-ID"]
    assert graph.received.wait(30), log_path.read_text()[-3000:]
    assert len(graph.requests) == 1
    sent = graph.requests[0]
    assert sent["path"] == f"/v21.0/{account.external_id}/messages"
    assert sent["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert sent["json"]["to"] == "34611222333"
    assert sent["json"]["messaging_product"] == "whatsapp"
    assert sent["json"]["type"] == "text"
    assert "Hotel E2E" in sent["json"]["text"]["body"]

    deadline = time.monotonic() + 10
    reply = None
    while time.monotonic() < deadline:
        reply = Message.objects.for_tenant(tenant).filter(direction=Direction.OUTBOUND, sender=Sender.BOT).first()
        if reply is not None and reply.status == DeliveryStatus.SENT:
            break
        time.sleep(0.1)
    assert reply is not None
    assert reply.status == DeliveryStatus.SENT
    assert reply.provider_message_id.startswith("wamid.fake.")
    assert reply.reply_to.provider_message_id == inbound["id"]
    assert Message.objects.for_tenant(tenant).count() == 2
    # The request's correlation id travelled with the task into the worker's logs.
    worker_log = log_path.read_text()
    assert f'"correlation_id": "{correlation_id}"' in worker_log
