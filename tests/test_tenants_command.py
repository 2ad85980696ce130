"""``manage.py tenants``: every subcommand's happy path, and every error is one line that writes nothing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db.models import QuerySet

from tenants.models import ChannelAccount, Tenant
from tests.factories import ChannelAccountFactory, TenantFactory

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("tenants", *args, stdout=out)
    return out.getvalue()


def tenant_rows() -> list[tuple]:
    return list(Tenant.objects.order_by("pk").values_list("slug", "name", "timezone", "default_language", "is_active"))


def account_rows() -> list[tuple]:
    return list(
        ChannelAccount.objects.order_by("pk").values_list("tenant__slug", "channel", "external_id", "display_name")
    )


# --- create ---------------------------------------------------------------------------------------------------
def test_create_with_defaults():
    # when
    output = run("create", "--slug", "sol-y-mar", "--name", "Hotel Sol y Mar")

    # then
    assert output == 'Created hotel "sol-y-mar" (Hotel Sol y Mar, Europe/Madrid, es).\n'
    assert tenant_rows() == [("sol-y-mar", "Hotel Sol y Mar", "Europe/Madrid", "es", True)]
    assert account_rows() == []


def test_create_with_timezone_and_language():
    # when
    output = run(
        "create", "--slug", "praia", "--name", "Hotel Praia", "--timezone", "America/Sao_Paulo", "--language", "pt"
    )

    # then
    assert output == 'Created hotel "praia" (Hotel Praia, America/Sao_Paulo, pt).\n'
    assert tenant_rows() == [("praia", "Hotel Praia", "America/Sao_Paulo", "pt", True)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--slug", "sol y mar", "--name", "X"],
            '--slug: Invalid slug "sol y mar": use only letters, numbers, hyphens and underscores.',
        ),
        (
            ["--slug", "sol", "--name", "X", "--timezone", "Mars/Olympus_Mons"],
            '--timezone: Unknown time zone "Mars/Olympus_Mons": use an IANA name such as Europe/Madrid.',
        ),
        (
            ["--slug", "sol", "--name", "X", "--language", "fr"],
            '--language: Unsupported language "fr": choose one of es, en, pt.',
        ),
        (["--slug", "sol", "--name", ""], "--name: This field cannot be blank."),
    ],
    ids=["bad-slug", "bad-timezone", "bad-language", "blank-name"],
)
def test_create_rejects_invalid_input_and_writes_nothing(args, message):
    # when
    with pytest.raises(CommandError) as excinfo:
        run("create", *args)

    # then
    assert str(excinfo.value) == message
    assert tenant_rows() == []


def test_create_rejects_a_duplicate_slug_and_leaves_the_existing_hotel_alone():
    # given
    TenantFactory(slug="sol-y-mar", name="Hotel Sol y Mar")

    # when
    with pytest.raises(CommandError) as excinfo:
        run("create", "--slug", "sol-y-mar", "--name", "Impostor", "--language", "en")

    # then
    assert str(excinfo.value) == '--slug: A hotel with slug "sol-y-mar" already exists.'
    assert tenant_rows() == [("sol-y-mar", "Hotel Sol y Mar", "Europe/Madrid", "es", True)]


# --- add-channel ----------------------------------------------------------------------------------------------
def test_add_channel(tenant):
    # when
    output = run(
        "add-channel", "sol-y-mar", "whatsapp", "--external-id", "106540352242922", "--display-name", "Recepción"
    )

    # then
    assert output == 'Added whatsapp account "106540352242922" to hotel "sol-y-mar".\n'
    account = ChannelAccount.objects.get()
    assert (account.tenant_id, account.channel, account.external_id, account.display_name) == (
        tenant.pk,
        "whatsapp",
        "106540352242922",
        "Recepción",
    )
    assert account.is_active is True
    assert account.credentials == {}


def test_add_channel_allows_the_same_external_id_on_another_channel(whatsapp_account):
    # when
    output = run("add-channel", "sol-y-mar", "sms", "--external-id", "106540352242922")

    # then
    assert output == 'Added sms account "106540352242922" to hotel "sol-y-mar".\n'
    assert account_rows() == [
        ("sol-y-mar", "whatsapp", "106540352242922", "Hotel Sol y Mar WhatsApp"),
        ("sol-y-mar", "sms", "106540352242922", ""),
    ]


def test_add_channel_rejects_a_duplicate_channel_and_external_id(whatsapp_account):
    # given: another hotel tries to claim the same WhatsApp number
    TenantFactory(slug="otro-hotel")

    # when
    with pytest.raises(CommandError) as excinfo:
        run("add-channel", "otro-hotel", "whatsapp", "--external-id", "106540352242922")

    # then
    assert (
        str(excinfo.value)
        == '--external-id: A whatsapp account with external id "106540352242922" already exists (hotel "sol-y-mar").'
    )
    assert account_rows() == [("sol-y-mar", "whatsapp", "106540352242922", "Hotel Sol y Mar WhatsApp")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["sol-y-mar", "telegram", "--external-id", "1"],
            'channel: Unknown channel "telegram": choose one of whatsapp, sms, email, webchat.',
        ),
        (["nope", "whatsapp", "--external-id", "1"], 'Unknown hotel "nope".'),
        (["sol-y-mar", "whatsapp", "--external-id", "12 34"], "--external-id: Invalid external id."),
    ],
    ids=["bad-channel", "unknown-hotel", "bad-external-id"],
)
def test_add_channel_rejects_invalid_input_and_writes_nothing(tenant, args, message):
    # when
    with pytest.raises(CommandError) as excinfo:
        run("add-channel", *args)

    # then
    assert str(excinfo.value) == message
    assert account_rows() == []


# --- list -----------------------------------------------------------------------------------------------------
@pytest.fixture
def two_hotels(tenant):
    ChannelAccountFactory(tenant=tenant, external_id="106540352242922")
    ChannelAccountFactory(tenant=tenant, channel="sms", external_id="+34600000000", display_name="")
    TenantFactory(
        slug="otro-hotel", name="Otro Hotel", timezone="America/Sao_Paulo", default_language="pt", is_active=False
    )


def test_list_prints_a_table(two_hotels):
    # when
    output = run("list")

    # then
    assert output.splitlines() == [
        "SLUG        NAME             ACTIVE  TIMEZONE           LANGUAGE  CHANNELS",
        "otro-hotel  Otro Hotel       no      America/Sao_Paulo  pt        0",
        "sol-y-mar   Hotel Sol y Mar  yes     Europe/Madrid      es        2",
    ]


def test_list_json(two_hotels):
    # when
    output = run("list", "--json")

    # then
    assert json.loads(output) == [
        {
            "slug": "otro-hotel",
            "name": "Otro Hotel",
            "is_active": False,
            "timezone": "America/Sao_Paulo",
            "language": "pt",
            "channel_count": 0,
        },
        {
            "slug": "sol-y-mar",
            "name": "Hotel Sol y Mar",
            "is_active": True,
            "timezone": "Europe/Madrid",
            "language": "es",
            "channel_count": 2,
        },
    ]


def test_list_without_hotels():
    assert run("list") == "No hotels.\n"
    assert json.loads(run("list", "--json")) == []


# --- show -----------------------------------------------------------------------------------------------------
SECRET = "EAAG-very-secret-access-token-123"


@pytest.fixture
def hotel_with_credentials(tenant):
    ChannelAccountFactory(
        tenant=tenant,
        external_id="106540352242922",
        display_name="Recepción",
        credentials={"access_token": SECRET, "app_secret": ""},
    )
    ChannelAccountFactory(tenant=tenant, channel="webchat", external_id="widget-1", display_name="", is_active=False)
    return tenant


def test_show_reports_credentials_as_set_or_not_set_only(hotel_with_credentials):
    # when
    output = run("show", "sol-y-mar")

    # then
    assert output.splitlines() == [
        "Hotel Sol y Mar (sol-y-mar)",
        "  active:    yes",
        "  timezone:  Europe/Madrid",
        "  language:  es",
        f"  created:   {hotel_with_credentials.created_at.isoformat()}",
        "Channel accounts (2):",
        "  webchat widget-1 active: no",
        "    credentials: none",
        '  whatsapp 106540352242922 "Recepción" active: yes',
        "    credentials: app_secret not set, access_token set, verify_token not set",
    ]
    assert SECRET not in output


def test_show_json(hotel_with_credentials):
    # when
    output = run("show", "sol-y-mar", "--json")

    # then
    assert json.loads(output) == {
        "slug": "sol-y-mar",
        "name": "Hotel Sol y Mar",
        "is_active": True,
        "timezone": "Europe/Madrid",
        "language": "es",
        "created_at": hotel_with_credentials.created_at.isoformat(),
        "channel_accounts": [
            {
                "channel": "webchat",
                "external_id": "widget-1",
                "display_name": "",
                "is_active": False,
                "credentials": {},
            },
            {
                "channel": "whatsapp",
                "external_id": "106540352242922",
                "display_name": "Recepción",
                "is_active": True,
                "credentials": {"app_secret": "not set", "access_token": "set", "verify_token": "not set"},
            },
        ],
    }
    assert SECRET not in output


def test_show_unknown_hotel(tenant):
    with pytest.raises(CommandError) as excinfo:
        run("show", "nope")

    assert str(excinfo.value) == 'Unknown hotel "nope".'


# --- deactivate / activate ------------------------------------------------------------------------------------
def test_deactivate_and_activate(tenant):
    # when
    deactivated = run("deactivate", "sol-y-mar")

    # then
    assert deactivated == 'Hotel "sol-y-mar" is inactive.\n'
    assert Tenant.objects.get(pk=tenant.pk).is_active is False

    # when
    activated = run("activate", "sol-y-mar")

    # then
    assert activated == 'Hotel "sol-y-mar" is active.\n'
    assert Tenant.objects.get(pk=tenant.pk).is_active is True


def test_deactivate_is_idempotent(tenant):
    # given
    run("deactivate", "sol-y-mar")
    updated_at = Tenant.objects.get(pk=tenant.pk).updated_at

    # when
    output = run("deactivate", "sol-y-mar")

    # then: same answer, no second write
    assert output == 'Hotel "sol-y-mar" is inactive.\n'
    assert Tenant.objects.get(pk=tenant.pk).updated_at == updated_at


@pytest.mark.parametrize("action", ["deactivate", "activate"])
def test_deactivate_or_activate_an_unknown_hotel_changes_nothing(tenant, action):
    # given
    TenantFactory(slug="otro-hotel", is_active=False)

    # when
    with pytest.raises(CommandError) as excinfo:
        run(action, "nope")

    # then
    assert str(excinfo.value) == 'Unknown hotel "nope".'
    assert sorted(Tenant.objects.values_list("slug", "is_active")) == [("otro-hotel", False), ("sol-y-mar", True)]


# --- as an operator runs it: exit status and stderr -----------------------------------------------------------
def manage(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite:///{database}"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_unknown_hotel_from_the_shell_exits_non_zero_with_one_stderr_line(tmp_path):
    # given: a migrated, empty database of its own (the test database is not visible to a subprocess)
    database = tmp_path / "operator.sqlite3"
    migrated = manage("migrate", "--noinput", "-v", "0", database=database)
    assert migrated.returncode == 0, migrated.stderr

    # when
    result = manage("tenants", "show", "nope", database=database)

    # then
    assert result.returncode == 1
    assert result.stderr.splitlines() == ['CommandError: Unknown hotel "nope".']
    assert result.stdout == ""


def test_bad_timezone_from_the_shell_is_refused_before_touching_the_database(tmp_path):
    # given: a database file that does not exist (no tables)
    database = tmp_path / "never-migrated.sqlite3"

    # when
    result = manage("tenants", "create", "--slug", "sol", "--name", "Sol", "--timezone", "Mars/Base", database=database)

    # then
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        'CommandError: --timezone: Unknown time zone "Mars/Base": use an IANA name such as Europe/Madrid.'
    ]
    assert result.stdout == ""


# --- concurrent writers: the database constraint has the last word --------------------------------------------
def test_create_losing_a_race_reports_the_duplicate_and_writes_nothing():
    # given: another operator's create committed between our check and our insert
    TenantFactory(slug="sol-y-mar", name="Hotel Sol y Mar")

    # when
    with mock.patch.object(QuerySet, "exists", return_value=False), pytest.raises(CommandError) as excinfo:
        run("create", "--slug", "sol-y-mar", "--name", "Impostor")

    # then
    assert str(excinfo.value) == '--slug: A hotel with slug "sol-y-mar" already exists.'
    assert tenant_rows() == [("sol-y-mar", "Hotel Sol y Mar", "Europe/Madrid", "es", True)]


def test_add_channel_losing_a_race_reports_the_duplicate_and_writes_nothing(whatsapp_account):
    # given: the same number was added concurrently, after our check
    TenantFactory(slug="otro-hotel")

    # when
    with mock.patch.object(QuerySet, "first", return_value=None), pytest.raises(CommandError) as excinfo:
        run("add-channel", "otro-hotel", "whatsapp", "--external-id", "106540352242922")

    # then
    assert str(excinfo.value) == '--external-id: A whatsapp account with external id "106540352242922" already exists.'
    assert account_rows() == [("sol-y-mar", "whatsapp", "106540352242922", "Hotel Sol y Mar WhatsApp")]
