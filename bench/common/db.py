"""The disposable bench database and Redis db: create/recreate, flush, migrate, ``manage.py`` and the bench tenant."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import BenchError

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_ready(database: str, log: Callable[[str], None], *, recreate: bool = False, log_drop: bool = False) -> str:
    """'' when PostgreSQL is usable (``database`` created if missing, dropped first with ``recreate``), else why
    not."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg missing: {exc}"
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            if recreate:
                conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                if log_drop:
                    log(f"dropped database {database}")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
                conn.execute(f"CREATE DATABASE {database}")
                log(f"created database {database}")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return ""


def redis_ready(url: str, *, flush: bool = True) -> str:
    """'' when the Redis db at ``url`` answers (flushed with ``flush``), else why not."""
    try:
        import redis
    except ImportError as exc:
        return f"redis client missing: {exc}"
    try:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
        if flush:
            client.flushdb()
        client.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


class Manage:
    """``manage.py`` of the project at ``root`` run with the bench environment."""

    def __init__(self, root: Path, python: str, env: dict[str, str], *, timeout: float, label_args: int | None):
        self.root, self.python, self.env = root, python, env
        self.timeout = timeout
        self.label_args = label_args  # how many arguments name the command in error messages (None: all)

    def __call__(self, *argv: str, timeout: float | None = None, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [self.python, str(self.root / "manage.py"), *argv],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.timeout if timeout is None else timeout,
        )
        if check and proc.returncode != 0:
            label = " ".join(argv[: self.label_args])
            raise BenchError(f"manage.py {label} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc

    def shell(self, code: str) -> str:
        return self("shell", "-c", code).stdout.strip()


def migrate(manage: Manage, database: str, bench_url: str, log: Callable[[str], None], *, log_drop: bool = False):
    """``manage.py migrate``; the bench database is disposable, so a migration history that no longer matches the
    code (migrations rewritten on a branch) is fixed by starting from an empty database."""
    t = time.monotonic()
    proc = manage("migrate", "--noinput", timeout=600, check=False)
    if proc.returncode != 0 and manage.env["DATABASE_URL"] == bench_url:
        log(f"migrate failed ({proc.stderr.strip().splitlines()[-1][:200]}); recreating {database}")
        if why := postgres_ready(database, log, recreate=True, log_drop=log_drop):
            raise BenchError(f"could not recreate {database}: {why}")
        proc = manage("migrate", "--noinput", timeout=600, check=False)
    if proc.returncode != 0:
        raise BenchError(f"manage.py migrate failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    log(f"migrated in {time.monotonic() - t:.1f}s")


def _try_command(manage: Manage, log: Callable[[str], None], *argv: str) -> bool:
    proc = manage(*argv, check=False)
    if proc.returncode != 0:
        log(f"manage.py {' '.join(argv)} failed ({proc.returncode}); using the ORM instead: "
            f"{proc.stderr.strip()[-300:]}")  # fmt: skip
        return False
    return True


def ensure_tenant(manage: Manage, log: Callable[[str], None], *, slug: str, name: str, phone_number_id: str) -> str:
    """Make sure tenant ``slug`` owns the active WhatsApp account ``phone_number_id`` (``manage.py tenants create`` /
    ``add-channel`` when that command exists, then an idempotent ORM pass). Returns how it was done."""
    has_command = "tenants" in manage("help", "--commands").stdout.split()
    state = json.loads(
        manage.shell(
            "import json\n"
            "from tenants.models import Tenant, ChannelAccount\n"
            f"a = ChannelAccount.objects.filter(channel='whatsapp', external_id='{phone_number_id}')"
            ".select_related('tenant').first()\n"
            "print(json.dumps({"
            f"'tenant': Tenant.objects.filter(slug='{slug}').exists(), "
            "'account_tenant': a.tenant.slug if a else None}))"
        ).splitlines()[-1]
    )
    how = "already present"
    if not state["tenant"] or state["account_tenant"] is None:
        how = "ORM (manage.py shell)"
        if has_command:
            ok = True
            if not state["tenant"]:
                ok = _try_command(manage, log, "tenants", "create", "--slug", slug, "--name", name)
            if ok and state["account_tenant"] is None:
                ok = _try_command(manage, log, "tenants", "add-channel", slug, "whatsapp", "--external-id",
                                  phone_number_id)  # fmt: skip
            if ok:
                how = "manage.py tenants create / add-channel"
    # Idempotent ORM pass: creates what is still missing, checks what exists, makes both active.
    out = manage.shell(
        "from tenants.models import Tenant, ChannelAccount\n"
        f"t, _ = Tenant.objects.get_or_create(slug='{slug}', defaults={{'name': '{name}'}})\n"
        f"a, _ = ChannelAccount.objects.get_or_create(channel='whatsapp', external_id='{phone_number_id}', "
        "defaults={'tenant': t, 'display_name': 'Bench WhatsApp'})\n"
        "assert a.tenant_id == t.pk, f'account belongs to {a.tenant.slug}'\n"
        "if not t.is_active:\n    t.is_active = True; t.save()\n"
        "if not a.is_active or a.credential('app_secret'):\n"
        "    a.is_active = True; a.credentials = {k: v for k, v in (a.credentials or {}).items() "
        "if k != 'app_secret'}; a.save()\n"
        "print('tenant', t.pk, 'account', a.pk)"
    )
    log(f"tenant {slug!r} + WhatsApp {phone_number_id}: {how} ({out.splitlines()[-1]})")
    return how


def analyze(database_url: str, log: Callable[[str], None]) -> None:
    """Fresh planner statistics for the bench database (PostgreSQL or SQLite URL). On PostgreSQL a ``VACUUM ANALYZE``:
    with autovacuum off, the rows each run leaves and the next one deletes would otherwise stay as dead tuples in
    the heap and its indexes, which production's autovacuum removes."""
    import contextlib

    t = time.monotonic()
    if database_url.startswith("postgres"):
        import psycopg

        statement = "VACUUM ANALYZE"
        with psycopg.connect(database_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(statement)
    else:
        import sqlite3

        statement = "ANALYZE"
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
            conn.execute(statement)
    log(f"{statement} done in {time.monotonic() - t:.1f}s")
