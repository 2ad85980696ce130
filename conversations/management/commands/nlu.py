"""``nlu``: classify a message, evaluate a labelled file, build the local model.

python manage.py nlu classify "¿Tenéis doble para el finde?" [--tenant S] [--today 2026-03-04]
python manage.py nlu eval FILE.jsonl [--today 2026-03-04] [--json] [--tenant S]
python manage.py nlu train [--force]
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from conversations.agent.nlu import engine_for
from conversations.agent.nlu.evaluation import evaluate, format_report
from conversations.agent.nlu.training import read_jsonl, train
from tenants.models import Tenant

ALWAYS_KEYS = ("check_in", "check_out", "adults", "children")


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def entities_json(entities: dict[str, Any]) -> dict[str, Any]:
    out = dict.fromkeys(ALWAYS_KEYS)
    out.update({key: _json_value(value) for key, value in entities.items()})
    return out


class Command(BaseCommand):
    help = "Classify text, evaluate the NLU on a labelled JSONL file, or build the local model."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        classify = sub.add_parser("classify", help="Print the NLU result for one message as JSON.")
        classify.add_argument("text")
        classify.add_argument("--tenant", help="Tenant slug (timezone, default language, room types).")
        classify.add_argument("--today", help="Reference date YYYY-MM-DD for relative dates.")
        classify.add_argument("--language", help="The conversation's current language, if any.")
        evaluation = sub.add_parser("eval", help="Evaluate on a JSONL file of {text, intent, language, entities?}.")
        evaluation.add_argument("file")
        evaluation.add_argument("--tenant")
        evaluation.add_argument("--today")
        evaluation.add_argument("--json", action="store_true", help="One JSON object on one line.")
        build = sub.add_parser("train", help="Build the local model for the current data (no-op when up to date).")
        build.add_argument("--force", action="store_true")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "train":
            path, built = train(force=options["force"])
            self.stdout.write(f"{'built' if built else 'up to date'}: {path}")
            return
        tenant = self._tenant(options.get("tenant"))
        today = self._today(options.get("today"))
        engine = engine_for(tenant)
        if action == "classify":
            context: dict[str, Any] = {"today": today} if today else {}
            if options.get("language"):
                context["language"] = options["language"]
            result = engine.parse(options["text"], tenant=tenant, context=context)
            self.stdout.write(
                json.dumps(
                    {
                        "intent": result.intent,
                        "confidence": result.confidence,
                        "language": result.language,
                        "entities": entities_json(result.entities),
                    },
                    ensure_ascii=False,
                )
            )
            return
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            examples = read_jsonl(path)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not examples:
            raise CommandError(f"{path} has no examples")
        report = evaluate(examples, engine=engine, tenant=tenant, today=today)
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, separators=(",", ":")))
        else:
            self.stdout.write(format_report(report))

    def _tenant(self, slug: str | None) -> Tenant | None:
        if not slug:
            return None
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f'Unknown hotel "{slug}".')
        return tenant

    def _today(self, value: str | None) -> dt.date | None:
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--today must be YYYY-MM-DD, got {value!r}") from exc
