"""Environment parsing and the production start-up guard.

Kept free of Django imports (other than the exception) so settings can use it before Django is configured.
"""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_KEY_LENGTH = 50

# Values that show a secret was copied from an example file instead of being generated.
_PLACEHOLDER_PATTERNS = [
    r"change[-_ ]?me",
    r"changeme",
    r"placeholder",
    r"replace[-_ ]?me",
    r"your[-_ ]",
    r"example",
    r"django-insecure",
    r"dev-only",
    r"^dev-",
    r"dummy",
    r"secret[-_]?key[-_]?here",
    r"^x+$",
    r"^<.*>$",
    r"^\$\{.*\}$",
    r"obten",
    r"genera_con",
    r"^todo",
    r"^fixme",
    r"^test$",
    r"^secret$",
    r"^password$",
]
_PLACEHOLDER_RE = re.compile("|".join(f"(?:{p})" for p in _PLACEHOLDER_PATTERNS), re.IGNORECASE)


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def is_placeholder(value: str) -> bool:
    """True when ``value`` looks like an example value rather than a real secret."""
    return bool(_PLACEHOLDER_RE.search(value)) or len(set(value)) < 6


def url_password(url: str) -> str:
    """The password of a ``scheme://user:password@host/…`` URL ("" when it has none)."""
    from urllib.parse import unquote, urlsplit

    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:
        return ""


def validate_production_environment(
    *,
    secret_key: str,
    allowed_hosts: list[str],
    channel_secrets: dict[str, str],
    optional_secrets: dict[str, str] | None = None,
) -> None:
    """Refuse to start production with missing, short or placeholder secrets. Lists every problem at once.
    ``optional_secrets`` may be empty (the feature is off, the service needs no password) but not a placeholder."""
    problems: list[str] = []
    for name, value in (optional_secrets or {}).items():
        if value and is_placeholder(value):
            problems.append(f"{name} is a placeholder value")
    if not secret_key:
        problems.append("SECRET_KEY is missing")
    elif len(secret_key) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters")
    elif is_placeholder(secret_key):
        problems.append("SECRET_KEY is a placeholder value")
    for name, value in channel_secrets.items():
        if not value:
            problems.append(f"{name} is missing")
        elif is_placeholder(value):
            problems.append(f"{name} is a placeholder value")
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS is empty")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems) + ".")
