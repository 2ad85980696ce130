"""Run a scripted guest conversation through the real pipeline; one JSON line per turn.

python manage.py simulate --tenant demo [--guest ID] [--today 2026-03-04] FILE   (FILE: one message per line;
"-" reads standard input)
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conversations.simulator import Rehearsal
from tenants.models import Tenant


def tenant_or_error(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f'Unknown hotel "{slug}".')
    return tenant


def today_or_error(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--today must be YYYY-MM-DD, got {value!r}") from exc


class Command(BaseCommand):
    help = "Simulate a guest conversation (one message per line of FILE) and print one JSON line per turn."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Messages, one per line ('-' for standard input).")
        parser.add_argument("--tenant", required=True, help="Hotel slug.")
        parser.add_argument("--guest", help="Guest id; the same id continues the same conversation.")
        parser.add_argument("--name", default="", help="Guest display name.")
        parser.add_argument("--today", help="Pretend today is YYYY-MM-DD (relative dates, availability).")

    def handle(self, *args, **options):
        tenant = tenant_or_error(options["tenant"])
        today = today_or_error(options.get("today"))
        if options["file"] == "-":
            lines = sys.stdin.read().splitlines()
        else:
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"no such file: {path}")
            lines = path.read_text(encoding="utf-8").splitlines()
        rehearsal = Rehearsal(tenant=tenant, guest=options.get("guest"), name=options["name"], today=today)
        for line in lines:
            if not line.strip():
                continue
            turn = rehearsal.send(line.strip())
            self.stdout.write(json.dumps(turn.as_dict(), ensure_ascii=False))
