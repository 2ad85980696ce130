"""Settings from the environment; production refuses missing, short or placeholder secrets."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hotel_agent.env import is_placeholder, url_password, validate_production_environment

ROOT = Path(__file__).resolve().parent.parent
PASSING_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "hotel.example.com",
    "WHATSAPP_VERIFY_TOKEN": secrets.token_hex(16),
    "WHATSAPP_APP_SECRET": secrets.token_hex(16),
    "WHATSAPP_ACCESS_TOKEN": "EAAG" + secrets.token_urlsafe(120),
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in PASSING_ENV and not k.startswith("WHATSAPP_")}
    base["DATABASE_URL"] = "sqlite:///:memory:"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_check_deploy_reports_no_warnings_with_valid_environment():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PASSING_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "short-but-random-Zx81"}, "SECRET_KEY is shorter than 50 characters"),
        ({"SECRET_KEY": "django-insecure-" + "a1b2c3d4" * 6}, "SECRET_KEY is a placeholder value"),
        ({"SECRET_KEY": "change-me-generate-with-python-secrets-token-urlsafe-64"}, "SECRET_KEY is a placeholder"),
        ({"WHATSAPP_APP_SECRET": ""}, "WHATSAPP_APP_SECRET is missing"),
        ({"WHATSAPP_APP_SECRET": "your-app-secret"}, "WHATSAPP_APP_SECRET is a placeholder value"),
        ({"WHATSAPP_ACCESS_TOKEN": "OBTEN_DE_META_DEVELOPERS"}, "WHATSAPP_ACCESS_TOKEN is a placeholder value"),
        ({"WHATSAPP_VERIFY_TOKEN": "changeme"}, "WHATSAPP_VERIFY_TOKEN is a placeholder value"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
        (
            {"DATABASE_URL": "postgres://hotel_agent:change-me-postgres-password@postgres:5432/hotel_agent"},
            "the DATABASE_URL password is a placeholder value",
        ),
        ({"REDIS_URL": "redis://:changeme@redis:6379/0"}, "the REDIS_URL password is a placeholder value"),
        ({"LLM_API_KEY": "change-me-llm-api-key"}, "LLM_API_KEY is a placeholder value"),
    ],
)
def test_production_refuses_to_start_with_bad_secrets(override, expected):
    result = run_manage("check", env={**PASSING_ENV, **override})

    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert expected in result.stderr


def test_development_defaults_start_without_any_environment():
    result = run_manage("check", env={"DJANGO_ENV": "development"})

    assert result.returncode == 0, result.stderr


def test_unknown_environment_name_is_refused():
    result = run_manage("check", env={"DJANGO_ENV": "staging"})

    assert result.returncode != 0
    assert "DJANGO_ENV must be 'development' or 'production'" in result.stderr


def test_validate_lists_every_problem_at_once():
    with pytest.raises(ImproperlyConfigured) as excinfo:
        validate_production_environment(secret_key="", allowed_hosts=[], channel_secrets={"WHATSAPP_APP_SECRET": ""})

    message = str(excinfo.value)
    assert "SECRET_KEY is missing" in message
    assert "WHATSAPP_APP_SECRET is missing" in message
    assert "ALLOWED_HOSTS is empty" in message


@pytest.mark.parametrize(
    "value", ["change-me", "CHANGEME", "<your-token>", "${SECRET}", "xxxxxxxx", "placeholder-123", "aaaaaaaaaaaa"]
)
def test_placeholders_are_recognised(value):
    assert is_placeholder(value)


@pytest.mark.parametrize(
    "value", [secrets.token_hex(16), secrets.token_urlsafe(64), "EAAG" + secrets.token_urlsafe(100)]
)
def test_generated_secrets_are_not_placeholders(value):
    assert not is_placeholder(value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "True 5"),
        ({"DB_PREPARE_THRESHOLD": "off"}, "True None"),
        ({"DB_PREPARE_THRESHOLD": "0", "DB_SERVER_SIDE_BINDING": "false"}, "False 0"),
    ],
)
def test_postgres_binding_and_prepared_statements_come_from_the_environment(env, expected):
    code = "from django.conf import settings as s; o = s.DATABASES['default']['OPTIONS']; "
    code += "print(o['server_side_binding'], o['prepare_threshold'])"
    result = run_manage(
        "shell", "-c", code, env={"DJANGO_ENV": "development", **env, "DATABASE_URL": "postgres://u@db.invalid:5432/x"}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_a_bad_prepare_threshold_is_refused_with_its_name():
    result = run_manage(
        "check", env={"DJANGO_ENV": "development", "DB_PREPARE_THRESHOLD": "often", "DATABASE_URL": "postgres://u@h/x"}
    )

    assert result.returncode != 0
    assert "DB_PREPARE_THRESHOLD" in result.stderr


def test_optional_secrets_may_be_empty_but_not_placeholders():
    strong = secrets.token_urlsafe(64)
    validate_production_environment(
        secret_key=strong,
        allowed_hosts=["hotel.example.com"],
        channel_secrets={},
        optional_secrets={"LLM_API_KEY": "", "the REDIS_URL password": url_password("redis://redis:6379/0")},
    )
    with pytest.raises(ImproperlyConfigured, match="LLM_API_KEY is a placeholder value"):
        validate_production_environment(
            secret_key=strong, allowed_hosts=["h"], channel_secrets={}, optional_secrets={"LLM_API_KEY": "your-key"}
        )


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgres://u:s%40cret%2Fx@db:5432/n", "s@cret/x"),
        ("postgres://u@db/n", ""),
        ("sqlite:///db.sqlite3", ""),
        ("redis://:pw@redis:6379/0", "pw"),
        ("", ""),
    ],
)
def test_url_password(url, password):
    assert url_password(url) == password
