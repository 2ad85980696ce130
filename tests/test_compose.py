"""Static checks of the container deployment: docker-compose.yml, Dockerfile, .env.example and docker/ configs.

No Docker engine and no database are needed: the files are parsed and cross-checked against each other and
against the settings module, so a renamed service, a missing config file or an undocumented variable fails here
instead of at ``docker compose up``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from hotel_agent.env import MIN_SECRET_KEY_LENGTH, is_placeholder, validate_production_environment

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
SETTINGS_FILE = ROOT / "hotel_agent" / "settings.py"
PROMETHEUS_DIR = ROOT / "docker" / "prometheus"
GRAFANA_DIR = ROOT / "docker" / "grafana"

REQUIRED_SERVICES = {
    "proxy",
    "api",
    "ws",
    "worker",
    "beat",
    "migrate",
    "postgres",
    "redis",
    "prometheus",
    "grafana",
    "alertmanager",
    "jaeger",
}
PMS_PROFILE_SERVICES = {"qloapps", "mysql"}
APP_SERVICES = {"api", "ws", "worker", "beat", "migrate"}
ONE_SHOT_SERVICES = {"migrate"}
TOP_LEVEL_KEYS = {"services", "volumes", "networks", "configs", "secrets", "name", "include", "version"}
DASHBOARD_METRICS = [
    "webhook_requests_total",
    "webhook_rejected_total",
    "inbound_messages_total",
    "outbound_messages_total",
    "orchestrator_latency_seconds",
    "tenant_resolution_total",
    "pms_circuit_breaker_state",
]
# Application secrets the production guard checks (hotel_agent.env.validate_production_environment).
APP_SECRETS = ["SECRET_KEY", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_ACCESS_TOKEN"]
SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY)")

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt} and bare $VAR; "$$" escapes.
_INTERPOLATION = re.compile(
    r"(?<!\$)\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
# env_str("NAME", ...), env_int(...), env_bool(...), env_list(...), env_float(...), os.environ.get / os.getenv.
_SETTINGS_ENV_READ = re.compile(
    r"""(?:\benv_[a-z]+|os\.environ\.get|os\.getenv|os\.environ\.setdefault)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)


# --- helpers ---------------------------------------------------------------------------------------------------------
@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


@cache
def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f".env.example line {number} is not KEY=VALUE: {raw!r}"
        key, value = line.split("=", 1)
        key = key.strip()
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f".env.example line {number}: bad variable name {key!r}"
        assert key not in values, f".env.example defines {key} twice"
        values[key] = value.strip()
    return values


def strings_in(node: Any) -> list[str]:
    """Every string (keys included) in a parsed YAML tree."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in strings_in(key) + strings_in(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings_in(item)]
    return []


def interpolated_variables() -> dict[str, str]:
    """Variable name -> the raw ``${...}`` expression, for every interpolation in the compose file."""
    found: dict[str, str] = {}
    for text in strings_in(compose()):
        for match in _INTERPOLATION.finditer(text):
            found.setdefault(match.group("braced") or match.group("bare"), match.group(0))
    return found


def settings_env_vars() -> set[str]:
    return set(_SETTINGS_ENV_READ.findall(SETTINGS_FILE.read_text(encoding="utf-8"))) - {"DJANGO_SETTINGS_MODULE"}


def service_volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    result = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            parts = entry.split(":")
            if len(parts) == 1:  # anonymous volume
                continue
            result.append((parts[0], parts[1]))
        else:
            if entry.get("type") in ("tmpfs", "npipe"):
                continue
            result.append((entry.get("source", ""), entry["target"]))
    return result


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return deps


def image_major(image: str) -> int:
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    match = re.match(r"v?(\d+)", tag)
    assert match, f"image {image!r} must be pinned to a version tag"
    return int(match.group(1))


def env_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


# --- compose structure -------------------------------------------------------------------------------------------
def test_compose_top_level_keys_follow_the_spec():
    unknown = {key for key in compose() if key not in TOP_LEVEL_KEYS and not key.startswith("x-")}
    assert not unknown, f"unknown top-level keys in docker-compose.yml: {sorted(unknown)}"
    assert isinstance(compose()["services"], dict) and compose()["services"]


def test_every_required_service_exists():
    missing = (REQUIRED_SERVICES | PMS_PROFILE_SERVICES) - set(services())
    assert not missing, f"missing services: {sorted(missing)}"


def test_pms_services_only_run_with_the_pms_profile():
    for name in PMS_PROFILE_SERVICES:
        assert services()[name].get("profiles") == ["pms"], f"{name} must be under profiles: ['pms']"
    for name in REQUIRED_SERVICES:
        assert "profiles" not in services()[name], f"{name} must start without a profile"


def test_every_service_has_an_image_or_a_build():
    for name, service in services().items():
        assert service.get("image") or service.get("build"), f"service {name} has neither image nor build"


def test_database_and_cache_versions():
    assert services()["postgres"]["image"].split(":")[0] == "postgres"
    assert image_major(services()["postgres"]["image"]) == 16
    assert services()["redis"]["image"].split(":")[0] == "redis"
    assert image_major(services()["redis"]["image"]) == 7


def test_app_services_run_the_expected_commands():
    commands = {name: " ".join(services()[name]["command"]) for name in APP_SERVICES}
    assert commands["api"].startswith("gunicorn -c gunicorn.conf.py hotel_agent.wsgi")
    assert commands["ws"].startswith("daphne ") and commands["ws"].endswith("hotel_agent.asgi:application")
    assert commands["worker"].startswith("celery -A hotel_agent worker -l info")
    assert commands["beat"].startswith("celery -A hotel_agent beat -l info")
    assert commands["migrate"] == "python manage.py migrate --noinput"
    assert services()["migrate"].get("restart") == "no", "migrate is a one-shot job"


def test_app_services_get_production_settings_and_compose_connections():
    for name in APP_SERVICES:
        service = services()[name]
        env_files = service.get("env_file")
        env_files = [env_files] if isinstance(env_files, str | dict) else env_files
        paths = [item if isinstance(item, str) else item["path"] for item in env_files or []]
        assert ".env" in paths, f"{name} must read env_file .env"
        environment = env_of(service)
        assert environment.get("DJANGO_ENV") == "production", name
        assert "@postgres:5432/" in environment.get("DATABASE_URL", ""), name
        assert environment.get("REDIS_URL", "").startswith("redis://redis:6379"), name
        assert environment.get("CELERY_BROKER_URL", "").startswith("redis://redis:6379"), name
        assert environment["REDIS_URL"] != environment["CELERY_BROKER_URL"], "cache and broker share a redis db"


def test_api_aggregates_prometheus_metrics_across_gunicorn_workers():
    environment = env_of(services()["api"])
    assert environment.get("PROMETHEUS_MULTIPROC_DIR"), "api must set PROMETHEUS_MULTIPROC_DIR"


def test_migrations_gate_the_app_services():
    for name in ("api", "ws", "worker", "beat"):
        deps = depends_on(services()[name])
        assert deps.get("migrate", {}).get("condition") == "service_completed_successfully", name
    assert depends_on(services()["migrate"])["postgres"]["condition"] == "service_healthy"


def test_depends_on_targets_exist():
    for name, service in services().items():
        for target in depends_on(service):
            assert target in services(), f"{name} depends on unknown service {target}"
            assert target != name


def test_proxy_publishes_port_8000_and_routes_websockets():
    proxy = services()["proxy"]
    ports = [str(port) for port in proxy.get("ports", [])]
    assert any(port.endswith(":8000") for port in ports), f"proxy must publish port 8000, got {ports}"
    for name in ("api", "ws", "worker", "beat", "postgres", "redis"):
        published = [str(port) for port in services()[name].get("ports", [])]
        assert not published, f"{name} must not be published on the host: {published}"
    config = next(
        ROOT / source for source, _ in service_volumes(proxy) if source.startswith("./") and "nginx" in source
    ).read_text(encoding="utf-8")
    assert re.search(r"location\s+/ws/\s*\{[^}]*ws:8001", config, re.S), "nginx must send /ws/ to ws:8001"
    assert re.search(r"location\s+/\s*\{[^}]*api:8000", config, re.S), "nginx must send / to api:8000"
    assert "Upgrade" in config and "$connection_upgrade" in config


def test_long_running_services_have_healthchecks():
    for name, service in services().items():
        if name in ONE_SHOT_SERVICES:
            continue
        healthcheck = service.get("healthcheck")
        assert healthcheck and not healthcheck.get("disable"), f"{name} needs a healthcheck"
        test = healthcheck.get("test")
        assert test and test not in (["NONE"], "NONE"), f"{name} healthcheck has no test"
    api_test = " ".join(services()["api"]["healthcheck"]["test"])
    assert "/health/ready" in api_test
    assert "pg_isready" in " ".join(services()["postgres"]["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(services()["redis"]["healthcheck"]["test"])


def test_healthcheck_helper_scripts_exist():
    for name, service in services().items():
        for part in service.get("healthcheck", {}).get("test", []) or []:
            if isinstance(part, str) and part.startswith("/app/docker/"):
                assert (ROOT / part.removeprefix("/app/")).is_file(), f"{name} healthcheck uses missing {part}"
        command = service.get("command") or []
        for part in command if isinstance(command, list) else []:
            if isinstance(part, str) and part.startswith("/app/docker/"):
                assert (ROOT / part.removeprefix("/app/")).is_file(), f"{name} runs missing {part}"


def test_bind_mounted_host_paths_exist():
    for name, service in services().items():
        for source, target in service_volumes(service):
            if source.startswith(("./", "../", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source} at {target}"


def test_named_volumes_are_declared_and_used():
    declared = set(compose().get("volumes") or {})
    used = {
        source
        for service in services().values()
        for source, _ in service_volumes(service)
        if source and not source.startswith((".", "/", "~"))
    }
    assert used <= declared, f"undeclared named volumes: {sorted(used - declared)}"
    assert not declared - used, f"declared but unused volumes: {sorted(declared - used)}"
    expected = {"postgres": "postgres", "redis": "redis", "grafana": "grafana", "prometheus": "prometheus"}
    expected["mysql"] = "mysql"
    for service_name, prefix in expected.items():
        sources = [source for source, _ in service_volumes(services()[service_name])]
        assert any(source.startswith(prefix) and source in declared for source in sources), (
            f"{service_name} must keep its data in a named volume"
        )


def test_env_files_exist():
    for name, service in services().items():
        env_files = service.get("env_file") or []
        for item in [env_files] if isinstance(env_files, str | dict) else env_files:
            path = item if isinstance(item, str) else item["path"]
            if path == ".env":
                assert ENV_EXAMPLE.is_file(), ".env is created from .env.example, which must exist"
            else:
                assert (ROOT / path).is_file(), f"{name} reads missing env_file {path}"


# --- variables ---------------------------------------------------------------------------------------------------
def test_every_interpolated_variable_is_documented_in_env_example():
    undocumented = {name: expr for name, expr in interpolated_variables().items() if name not in env_example()}
    assert not undocumented, f"variables used in docker-compose.yml but missing from .env.example: {undocumented}"


def test_interpolation_parser_understands_compose_syntax():
    samples = "${A} ${B:-x} ${C-y} ${D:?err msg} ${E?e} ${F:+z} $G $${ESCAPED} $$H"
    names = {m.group("braced") or m.group("bare") for m in _INTERPOLATION.finditer(samples)}
    assert names == {"A", "B", "C", "D", "E", "F", "G"}


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    read = settings_env_vars()
    assert {"SECRET_KEY", "DJANGO_ENV", "DATABASE_URL", "WHATSAPP_APP_SECRET"} <= read, "settings regex is broken"
    missing = sorted(read - set(env_example()))
    assert not missing, f"settings.py reads these variables but .env.example does not list them: {missing}"


def test_env_example_holds_only_placeholder_secrets():
    values = env_example()
    for name in APP_SECRETS:
        assert values.get(name), f".env.example must list {name} with a placeholder value"
        assert is_placeholder(values[name]), f"{name} in .env.example looks like a real secret"
    for name, value in values.items():
        if SECRET_NAME.search(name) and value:
            assert is_placeholder(value), f"{name} in .env.example looks like a real secret"
        for url_password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
            assert is_placeholder(url_password), f"the password in {name} looks real"
    assert values.get("DEBUG", "").lower() in ("false", "0", "no", "off")


def test_env_example_cannot_start_production_as_is():
    values = env_example()
    assert values.get("ALLOWED_HOSTS"), "ALLOWED_HOSTS must be non-empty in the example"
    with pytest.raises(ImproperlyConfigured) as excinfo:
        validate_production_environment(
            secret_key=values["SECRET_KEY"],
            allowed_hosts=[host for host in values["ALLOWED_HOSTS"].split(",") if host],
            channel_secrets={name: values[name] for name in APP_SECRETS[1:]},
        )
    message = str(excinfo.value)
    for name in APP_SECRETS:
        assert name in message, f"the production guard must reject the example {name}"
    assert len(values["SECRET_KEY"]) >= MIN_SECRET_KEY_LENGTH or "SECRET_KEY" in message


# --- Dockerfile and gunicorn -------------------------------------------------------------------------------------
def test_dockerfile_builds_a_non_root_gunicorn_image():
    text = DOCKERFILE.read_text(encoding="utf-8")
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert re.search(r"^FROM\s+python:3\.11-slim\b", text, re.M)
    assert re.search(r"pip install[^\n]*-r requirements\.txt", text)
    assert "collectstatic --noinput" in text
    assert re.search(r"^EXPOSE\s+8000\b", text, re.M)
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    launch = " ".join(line for line in instructions if line.startswith(("CMD", "ENTRYPOINT")))
    assert "gunicorn" in launch and "gunicorn.conf.py" in launch
    entrypoint = re.search(r'^ENTRYPOINT\s+\["([^"]+)"', text, re.M)
    if entrypoint and entrypoint.group(1).startswith("/app/"):
        assert (ROOT / entrypoint.group(1).removeprefix("/app/")).is_file()


def test_dockerfile_collectstatic_environment_loads_production_settings():
    """The build-time collectstatic gets just enough environment for the production settings to load.

    If settings start requiring another production variable, the image build would fail: this says so first.
    """
    import os
    import secrets
    import subprocess
    import sys

    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    run = next(line for line in text.splitlines() if line.startswith("RUN ") and "collectstatic" in line)
    prefix = run.split("python manage.py collectstatic", 1)[0]
    assignments = dict(re.findall(r"\b([A-Z][A-Z0-9_]*)=(\"\$\([^)]*\)\"|\S+)", prefix))
    assert assignments.get("DJANGO_ENV") == "production", "collectstatic must run with the production storage"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    env |= {"DJANGO_SETTINGS_MODULE": "hotel_agent.settings", "PYTHONPATH": str(ROOT)}
    for name, value in assignments.items():
        env[name] = secrets.token_hex(32) if value.startswith('"$(') else value
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.STORAGES['staticfiles']['BACKEND'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"production settings do not load with the Dockerfile's build env:\n{result.stderr}"
    assert result.stdout.strip().endswith("ManifestStaticFilesStorage")


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    patterns = {
        line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if line.strip()
    }
    for pattern in (".env", ".git", ".venv", "db.sqlite3"):
        assert pattern in patterns, f".dockerignore must exclude {pattern}"
    ignored_dirs = {pattern.rstrip("/") for pattern in patterns}
    assert "docker/app" not in ignored_dirs and "docker" not in ignored_dirs, "the image needs docker/app"


def test_gunicorn_config_is_environment_driven(monkeypatch, tmp_path):
    import runpy

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "gthread")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["workers"] == 3 and config["threads"] == 4 and config["worker_class"] == "gthread"
    assert config["bind"] == ["0.0.0.0:8000"]
    assert config["accesslog"] is None

    monkeypatch.delenv("GUNICORN_WORKERS")
    default = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert default["workers"] == 2 * default["_cpu_count"]() + 1

    class Log:
        def info(self, *args: object) -> None:
            pass

    class Server:
        log = Log()

    class Worker:
        pid = 4242

    # Without PROMETHEUS_MULTIPROC_DIR the hooks do nothing.
    default["on_starting"](Server())
    default["child_exit"](Server(), Worker())

    # With it, on_starting creates and empties the directory, child_exit marks the worker dead.
    directory = tmp_path / "multiproc"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    default["on_starting"](Server())
    assert directory.is_dir()
    (directory / "counter_1.db").write_bytes(b"stale")
    (directory / "gauge_livesum_4242.db").write_bytes(b"")
    default["on_starting"](Server())
    assert not (directory / "counter_1.db").exists()
    (directory / "gauge_livesum_4242.db").write_bytes(b"")
    default["child_exit"](Server(), Worker())
    assert not (directory / "gauge_livesum_4242.db").exists()


# --- Prometheus, Alertmanager, Grafana ---------------------------------------------------------------------------
def test_prometheus_scrapes_the_api_and_loads_the_alerts():
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {
        job["job_name"]: [target for static in job.get("static_configs", []) for target in static["targets"]]
        for job in config["scrape_configs"]
    }
    assert "api:8000" in targets.get("api", []), "prometheus must scrape api:8000"
    api_job = next(job for job in config["scrape_configs"] if job["job_name"] == "api")
    assert api_job.get("metrics_path", "/metrics") == "/metrics"
    for target in [target for job_targets in targets.values() for target in job_targets]:
        host = target.split(":")[0]
        assert host in services() or host == "localhost", f"scrape target {target} is not a compose service"
    assert any(Path(path).name == "alerts.yml" for path in config["rule_files"])
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["alertmanager:9093"]
    mounts = {target for _, target in service_volumes(services()["prometheus"])}
    for path in config["rule_files"]:
        assert path in mounts, f"rule file {path} is not mounted into the prometheus container"


def test_alert_rules_have_expressions_and_severities():
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text(encoding="utf-8"))
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert alerts
    for rule in alerts:
        assert rule.get("alert") and rule.get("expr"), rule
        assert rule.get("labels", {}).get("severity") in ("critical", "warning", "info"), rule["alert"]
    expressions = "\n".join(rule["expr"] for rule in alerts)
    assert "pms_circuit_breaker_state" in expressions
    assert "webhook_rejected_total" in expressions
    assert re.search(r"\bup\b[^\n]*== 0", expressions)
    assert re.search(r'outbound_messages_total\{[^}]*result="failed"', expressions)
    assert "health-ready" in expressions, "an alert must watch readiness"


def test_every_app_metric_an_alert_uses_is_registered_by_the_app():
    """A typo in an alert's metric name would make it silently never fire."""
    import django
    from prometheus_client import REGISTRY

    django.setup()
    import channels_gateway.metrics  # noqa: F401  (these register the app's metrics)
    import conversations.agent.pms_access
    import conversations.metrics  # noqa: F401
    import pms.metrics  # noqa: F401

    # Every sample name each collector can expose (counters' _total, histograms' _bucket/_sum/_count).
    registered = {name for names in REGISTRY._collector_to_names.values() for name in names}
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text(encoding="utf-8"))
    expressions = "\n".join(rule["expr"] for group in rules["groups"] for rule in group["rules"])
    ours = {"webhook_", "inbound_", "outbound_", "message_status_", "booking_", "unfinished_", "enqueue_", "pms_",
            "orchestrator_", "tenant_resolution", "lock_"}  # fmt: skip
    used = {name for name in re.findall(r"\b([a-z_]+)(?=\{|\[|\s|\))", expressions) if name.startswith(tuple(ours))}
    assert "booking_outcome_unknown_total" in used
    assert not used - registered, f"alerts use metrics the app does not define: {sorted(used - registered)}"


def test_alertmanager_config_routes_to_a_declared_receiver():
    config = yaml.safe_load((ROOT / "docker" / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8"))
    receivers = {receiver["name"] for receiver in config["receivers"]}
    routes = [config["route"], *config["route"].get("routes", [])]
    for route in routes:
        assert route.get("receiver", config["route"]["receiver"]) in receivers


def test_grafana_provisioning_and_dashboard():
    datasources = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )
    prometheus = next(ds for ds in datasources["datasources"] if ds["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090"

    providers = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml").read_text(encoding="utf-8")
    )
    dashboards_path = providers["providers"][0]["options"]["path"]
    mounts = {target: source for source, target in service_volumes(services()["grafana"])}
    assert dashboards_path in mounts, "the dashboards provider path must be mounted into grafana"
    dashboard_files = sorted((ROOT / mounts[dashboards_path]).glob("*.json"))
    assert GRAFANA_DIR / "dashboards" / "hotel-agent.json" in dashboard_files

    dashboard = json.loads((GRAFANA_DIR / "dashboards" / "hotel-agent.json").read_text(encoding="utf-8"))
    assert dashboard["title"] and dashboard["uid"]
    panel_uids = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if isinstance(target.get("datasource"), dict)
    }
    assert panel_uids <= {ds.get("uid") for ds in datasources["datasources"]}
    expressions = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", []))
    missing = [metric for metric in DASHBOARD_METRICS if metric not in expressions]
    assert not missing, f"dashboard has no panel for {missing}"
