"""Browser end-to-end fixtures: the real app in its own daphne process, and Debian's Chromium through Playwright.

The server is started the way ``make run`` starts it, but isolated: a fresh SQLite file in a temporary directory,
no Redis (so the in-memory channel layer and eager Celery, all in ONE daphne process), a free port on 127.0.0.1.
Whatever the parent environment says about databases, Redis or Celery (CI exports DATABASE_URL and REDIS_URL for
the rest of the suite) is removed from the child's environment only; this pytest process is left alone.
Playwright's own browser downloads are never used: the bundled driver drives ``/usr/bin/chromium``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
STAFF_USERNAME = "recepcion"  # tenants/management/commands/seed_demo.py
STAFF_PASSWORD = "E2e-Recepcion-Clave-2024!"
SERVER_START_TIMEOUT = 30.0

# Settings the child must not inherit: it runs on its own SQLite file, in-memory channel layer and eager Celery,
# with development defaults and no external services.
CHILD_ENV_DROPPED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_TASK_DEFAULT_QUEUE",
    "CACHE_KEY_PREFIX",
    "DJANGO_ENV",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "LLM_API_KEY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "PMS_TYPE",
    "DEMO_WHATSAPP_PHONE_NUMBER_ID",
)

SETUP_SCRIPT = """
import sys
import django

django.setup()
from django.core.management import call_command

from channels_gateway.webchat.services import webchat_seed_demo
from tenants.models import Tenant

call_command("migrate", interactive=False, verbosity=0)
call_command("nlu", "train")
call_command("seed_demo", password=sys.argv[1])
webchat_seed_demo(Tenant.objects.get(slug="demo"))
"""


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason is None:
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    username: str
    password: str
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_tail(self) -> str:
        return _tail(self.log_path)


@pytest.fixture(scope="module")
def live_app(tmp_path_factory) -> LiveApp:
    """Migrate, train, seed the demo hotel (and its web chat), then serve it with daphne; stopped at teardown."""
    workdir = tmp_path_factory.mktemp("e2e-app")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key not in CHILD_ENV_DROPPED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "hotel_agent.settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'e2e.sqlite3'}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": base_url,
            "LOG_FORMAT": "console",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_path = workdir / "server.log"
    setup = subprocess.run(
        [sys.executable, "-c", SETUP_SCRIPT, STAFF_PASSWORD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if setup.returncode != 0:
        pytest.fail(f"e2e setup failed ({setup.returncode}):\n{setup.stdout[-3000:]}\n{setup.stderr[-3000:]}")

    daphne = Path(sys.executable).with_name("daphne")
    command = [str(daphne)] if daphne.exists() else [sys.executable, "-m", "daphne"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*command, "-b", "127.0.0.1", "-p", str(port), "hotel_agent.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(proc, base_url, log_path)
        yield LiveApp(base_url=base_url, username=STAFF_USERNAME, password=STAFF_PASSWORD, log_path=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_ready(proc: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last_error = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"daphne exited with {proc.returncode} before it was ready:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(base_url + "/health/ready", timeout=2) as response:
                if response.status == 200:
                    _check_isolated(json.load(response))
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.2)
    pytest.fail(f"daphne not ready within {SERVER_START_TIMEOUT:.0f}s ({last_error}):\n{_tail(log_path)}")


def _check_isolated(ready: dict) -> None:
    """The server must run on its own SQLite file, a process-local cache and eager Celery — never the parent's."""
    checks = {name: check.get("detail", "") for name, check in ready.get("checks", {}).items()}
    assert checks.get("database") == "sqlite", checks
    assert checks.get("cache") == "LocMemCache", checks
    assert checks.get("broker") == "eager (no broker)", checks


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """``test-artifacts/e2e/`` (gitignored), emptied of the previous run's screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink(missing_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser_context_factory(browser):
    """New isolated browser contexts (cookies, storage) in Spanish, each closed at teardown."""
    contexts = []

    def make():
        context = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
