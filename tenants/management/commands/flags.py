"""Operator CLI for feature flags.

    manage.py flags list [--tenant S] [--json]
    manage.py flags get NAME [--tenant S]
    manage.py flags set NAME true|false [--tenant S]
    manage.py flags unset NAME [--tenant S]

Without ``--tenant`` ``set`` / ``unset`` act on the global override (every hotel without its own). Writes go
through ``tenants.flags``; every failure (unknown flag, unknown hotel, bad value) is one ``CommandError`` line and
leaves nothing written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from tenants.flags import DEFAULT_FLAGS, FlagState, UnknownFlag, flag_set, flag_state, flag_unset, flags_list
from tenants.models import Tenant

_TRUE = {"true", "on", "yes", "1"}
_FALSE = {"false", "off", "no", "0"}


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CommandError(f'Invalid value "{text}": use true or false.')


def _known(name: str) -> str:
    if name not in DEFAULT_FLAGS:
        raise UnknownFlag(name)
    return name


def _source_text(state: FlagState, tenant: Tenant | None) -> str:
    if state["source"] == "tenant" and tenant is not None:
        return f'hotel "{tenant.slug}" override'
    return {"global": "global override", "default": "default"}.get(state["source"], state["source"])


class Command(BaseCommand):
    help = "List, read, set and unset feature flags, globally or for one hotel."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

        list_ = actions.add_parser("list", help="Every flag with its value and where it comes from.")
        list_.add_argument("--tenant", help="Hotel slug: show the values this hotel gets.")
        list_.add_argument("--json", action="store_true", help="Machine-readable output.")

        get = actions.add_parser("get", help="One flag's value and where it comes from.")
        get.add_argument("name")
        get.add_argument("--tenant", help="Hotel slug: the value this hotel gets.")

        set_ = actions.add_parser("set", help="Override a flag, for one hotel or globally.")
        set_.add_argument("name")
        set_.add_argument("value", help="true or false.")
        set_.add_argument("--tenant", help="Hotel slug (default: the global override).")

        unset = actions.add_parser("unset", help="Remove an override, for one hotel or the global one.")
        unset.add_argument("name")
        unset.add_argument("--tenant", help="Hotel slug (default: the global override).")

    @no_translations  # operator output and errors in English, whatever LANGUAGE_CODE says
    def handle(self, *args: Any, **options: Any) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "list": self._list,
            "get": self._get,
            "set": self._set,
            "unset": self._unset,
        }
        try:
            handlers[options["action"]](options)
        except UnknownFlag as exc:
            raise CommandError(str(exc)) from exc

    def _tenant(self, options: dict[str, Any]) -> Tenant | None:
        slug = options.get("tenant")
        if slug is None:
            return None
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f'Unknown hotel "{slug}".')
        return tenant

    # --- writes ---------------------------------------------------------------------------------------------
    def _set(self, options: dict[str, Any]) -> None:
        name = _known(options["name"])  # the flag first, then the value, then the hotel
        enabled = _parse_bool(options["value"])
        tenant = self._tenant(options)
        flag_set(name, enabled, tenant=tenant)
        scope = f'hotel "{tenant.slug}"' if tenant else "global"
        self.stdout.write(f"{name}: {scope} override set to {_bool_text(enabled)}.")

    def _unset(self, options: dict[str, Any]) -> None:
        name = _known(options["name"])
        tenant = self._tenant(options)
        removed = flag_unset(name, tenant=tenant)
        state = flag_state(name, tenant=tenant)
        scope = f'hotel "{tenant.slug}"' if tenant else "global"
        now = f"{_bool_text(state['enabled'])} ({_source_text(state, tenant)})"
        if removed:
            self.stdout.write(f"{name}: {scope} override removed; now {now}.")
        else:
            self.stdout.write(f"{name}: no {scope} override to remove; still {now}.")

    # --- reads ----------------------------------------------------------------------------------------------
    def _get(self, options: dict[str, Any]) -> None:
        name = _known(options["name"])
        tenant = self._tenant(options)
        state = flag_state(name, tenant=tenant)
        self.stdout.write(f"{name}: {_bool_text(state['enabled'])} ({_source_text(state, tenant)})")

    def _list(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options)
        states = flags_list(tenant=tenant)
        if options["json"]:
            self.stdout.write(json.dumps(states, ensure_ascii=False, indent=2))
            return
        self._table(
            ["NAME", "ENABLED", "SOURCE", "DESCRIPTION"],
            [[s["name"], _bool_text(s["enabled"]), s["source"], s["description"]] for s in states],
        )

    def _table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
