"""Health probes, metrics endpoint, correlation ids."""

from __future__ import annotations

import pytest
from django.test import Client

from hotel_agent import health


def test_liveness_is_always_ok(client: Client):
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_reports_each_dependency(client: Client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


@pytest.mark.django_db
def test_readiness_is_503_and_names_what_is_down(client: Client, monkeypatch):
    def broken_cache() -> health.CheckResult:
        raise ConnectionError("redis refused the connection")

    monkeypatch.setitem(health.FATAL_CHECKS, "cache", broken_cache)

    response = client.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["cache"]
    assert body["checks"]["cache"]["status"] == "down"
    assert "redis refused the connection" in body["checks"]["cache"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_non_fatal_check_failure_keeps_the_service_ready(client: Client, monkeypatch):
    monkeypatch.setitem(health.NON_FATAL_CHECKS, "pms", lambda: health.CheckResult(False, "PMS timeout"))

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["optional"]["pms"]["status"] == "down"


@pytest.mark.django_db
def test_broker_check_reports_a_down_broker(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    result = health._run(health.check_broker)

    assert result["status"] == "down"


@pytest.mark.django_db
def test_metrics_endpoint_exposes_the_webhook_counters(client: Client):
    client.post("/webhooks/whatsapp/", b"{}", content_type="application/json")

    response = client.get("/metrics")

    assert response.status_code == 200
    text = response.content.decode()
    assert "webhook_requests_total" in text
    assert 'webhook_rejected_total{channel="whatsapp",reason="missing_signature"}' in text


def test_correlation_id_is_generated_and_returned(client: Client):
    response = client.get("/health/live")

    assert len(response["X-Correlation-ID"]) == 32


def test_well_formed_incoming_correlation_id_is_kept(client: Client):
    response = client.get("/health/live", HTTP_X_CORRELATION_ID="abc-123-def-456")

    assert response["X-Correlation-ID"] == "abc-123-def-456"


def test_malformed_incoming_correlation_id_is_replaced(client: Client):
    response = client.get("/health/live", HTTP_X_CORRELATION_ID="bad id\nwith newline")

    assert response["X-Correlation-ID"] != "bad id\nwith newline"
    assert len(response["X-Correlation-ID"]) == 32
