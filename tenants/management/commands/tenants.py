"""Operator CLI for hotels and their channel accounts.

    manage.py tenants create --slug S --name N [--timezone TZ] [--language es]
    manage.py tenants add-channel S whatsapp --external-id PHONE_NUMBER_ID [--display-name X]
    manage.py tenants list [--json]
    manage.py tenants show S [--json]
    manage.py tenants deactivate S
    manage.py tenants activate S

Writes go through ``tenants.services``; every failure is one ``CommandError`` line and leaves nothing written.
Credentials are only ever reported as "set" / "not set".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.db.models import Count

from tenants.models import ChannelAccount, Tenant
from tenants.services import (
    channel_account_add,
    channel_account_credential_status,
    tenant_activate,
    tenant_create,
    tenant_deactivate,
)

# Model field → how the operator spelled it on the command line, so an error points at the right option.
_OPTION_NAMES = {
    "slug": "--slug",
    "name": "--name",
    "timezone": "--timezone",
    "default_language": "--language",
    "external_id": "--external-id",
    "display_name": "--display-name",
    "channel": "channel",
}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _validation_message(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return _one_line(" ".join(error.messages))
    parts = []
    for field_name, messages in error.message_dict.items():
        for message in messages:
            if field_name != NON_FIELD_ERRORS:
                message = f"{_OPTION_NAMES.get(field_name, field_name)}: {message}"
            parts.append(_one_line(message))
    return " ".join(parts)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


class Command(BaseCommand):
    help = "Create, list, show, activate and deactivate hotels (tenants) and add their channel accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

        create = actions.add_parser("create", help="Create a hotel.")
        create.add_argument("--slug", required=True, help="Identifier: letters, numbers, hyphens, underscores.")
        create.add_argument("--name", required=True)
        create.add_argument("--timezone", default="Europe/Madrid", help="IANA time zone (default: Europe/Madrid).")
        create.add_argument("--language", default="es", help="Default guest language: es, en or pt (default: es).")

        add_channel = actions.add_parser("add-channel", help="Add a channel account (number, mailbox…) to a hotel.")
        add_channel.add_argument("slug")
        add_channel.add_argument("channel", help="whatsapp, sms, email or webchat.")
        add_channel.add_argument(
            "--external-id", required=True, help="The provider's id for the account (WhatsApp: phone number id)."
        )
        add_channel.add_argument("--display-name", default="")

        list_ = actions.add_parser("list", help="List hotels.")
        list_.add_argument("--json", action="store_true", help="Machine-readable output.")

        show = actions.add_parser("show", help="Show a hotel and its channel accounts.")
        show.add_argument("slug")
        show.add_argument("--json", action="store_true", help="Machine-readable output.")

        for name, help_text in (("deactivate", "Stop answering for a hotel."), ("activate", "Resume a hotel.")):
            actions.add_parser(name, help=help_text).add_argument("slug")

    @no_translations  # operator output and errors in English, whatever LANGUAGE_CODE says
    def handle(self, *args: Any, **options: Any) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "create": self._create,
            "add-channel": self._add_channel,
            "list": self._list,
            "show": self._show,
            "deactivate": self._deactivate,
            "activate": self._activate,
        }
        try:
            handlers[options["action"]](options)
        except ValidationError as exc:
            raise CommandError(_validation_message(exc)) from exc
        except Tenant.DoesNotExist as exc:
            raise CommandError(_one_line(str(exc))) from exc

    # --- writes ---------------------------------------------------------------------------------------------
    def _create(self, options: dict[str, Any]) -> None:
        tenant = tenant_create(
            slug=options["slug"], name=options["name"], timezone=options["timezone"], language=options["language"]
        )
        self.stdout.write(
            f'Created hotel "{tenant.slug}" ({tenant.name}, {tenant.timezone}, {tenant.default_language}).'
        )

    def _add_channel(self, options: dict[str, Any]) -> None:
        account = channel_account_add(
            tenant_slug=options["slug"],
            channel=options["channel"],
            external_id=options["external_id"],
            display_name=options["display_name"],
        )
        self.stdout.write(f'Added {account.channel} account "{account.external_id}" to hotel "{options["slug"]}".')

    def _deactivate(self, options: dict[str, Any]) -> None:
        tenant = tenant_deactivate(slug=options["slug"])
        self.stdout.write(f'Hotel "{tenant.slug}" is inactive.')

    def _activate(self, options: dict[str, Any]) -> None:
        tenant = tenant_activate(slug=options["slug"])
        self.stdout.write(f'Hotel "{tenant.slug}" is active.')

    # --- reads ----------------------------------------------------------------------------------------------
    def _list(self, options: dict[str, Any]) -> None:
        tenants = Tenant.objects.annotate(channel_count=Count("channel_accounts")).order_by("slug")
        rows = [
            {
                "slug": t.slug,
                "name": t.name,
                "is_active": t.is_active,
                "timezone": t.timezone,
                "language": t.default_language,
                "channel_count": t.channel_count,
            }
            for t in tenants
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("No hotels.")
            return
        self._table(
            ["SLUG", "NAME", "ACTIVE", "TIMEZONE", "LANGUAGE", "CHANNELS"],
            [
                [r["slug"], r["name"], _yes_no(r["is_active"]), r["timezone"], r["language"], str(r["channel_count"])]
                for r in rows
            ],
        )

    def _show(self, options: dict[str, Any]) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise Tenant.DoesNotExist(f'Unknown hotel "{options["slug"]}".')
        accounts = list(ChannelAccount.objects.filter(tenant=tenant).order_by("channel", "external_id"))
        data = {
            "slug": tenant.slug,
            "name": tenant.name,
            "is_active": tenant.is_active,
            "timezone": tenant.timezone,
            "language": tenant.default_language,
            "created_at": tenant.created_at.isoformat(),
            "channel_accounts": [
                {
                    "channel": a.channel,
                    "external_id": a.external_id,
                    "display_name": a.display_name,
                    "is_active": a.is_active,
                    "credentials": {
                        key: "set" if is_set else "not set"
                        for key, is_set in channel_account_credential_status(account=a).items()
                    },
                }
                for a in accounts
            ],
        }
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"{tenant.name} ({tenant.slug})")
        self.stdout.write(f"  active:    {_yes_no(tenant.is_active)}")
        self.stdout.write(f"  timezone:  {tenant.timezone}")
        self.stdout.write(f"  language:  {tenant.default_language}")
        self.stdout.write(f"  created:   {data['created_at']}")
        self.stdout.write(f"Channel accounts ({len(accounts)}):")
        for account in data["channel_accounts"]:
            display = f' "{account["display_name"]}"' if account["display_name"] else ""
            self.stdout.write(
                f"  {account['channel']} {account['external_id']}{display} active: {_yes_no(account['is_active'])}"
            )
            credentials = ", ".join(f"{key} {state}" for key, state in account["credentials"].items()) or "none"
            self.stdout.write(f"    credentials: {credentials}")

    def _table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
