"""Operator CLI for hotel knowledge (answers are edited in the admin).

    manage.py knowledge seed-demo [--tenant demo]
    manage.py knowledge answer TOPIC --tenant S [--language es]
    manage.py knowledge topic "¿tienen parking?" [--language es]

``answer`` shows what the agent would say, with the language fallback applied; ``topic`` shows which topic a
guest's question maps to. Every failure is one ``CommandError`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from tenants.knowledge import LANGUAGES, knowledge_answer, knowledge_seed_demo, topic_for_text
from tenants.models import KnowledgeTopic, Tenant


def _language(value: str | None) -> str | None:
    if value is not None and value not in LANGUAGES:
        raise CommandError(f'Unsupported language "{value}": choose one of {", ".join(LANGUAGES)}.')
    return value


class Command(BaseCommand):
    help = "Seed the demo hotel's knowledge, show a hotel's answer for a topic, or map a question to its topic."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

        seed = actions.add_parser("seed-demo", help="Load the demo hotel's profile and answers (idempotent).")
        seed.add_argument("--tenant", default="demo", help="Hotel slug (default: demo).")

        answer = actions.add_parser("answer", help="A hotel's answer for a topic, as the agent would give it.")
        answer.add_argument("topic", help=", ".join(KnowledgeTopic.values))
        answer.add_argument("--tenant", required=True, help="Hotel slug.")
        answer.add_argument("--language", help="es, en or pt (default: the hotel's language).")

        topic = actions.add_parser("topic", help="Which topic a guest's question is about.")
        topic.add_argument("text")
        topic.add_argument("--language", help="es, en or pt (default: any).")

    @no_translations
    def handle(self, *args: Any, **options: Any) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "seed-demo": self._seed_demo,
            "answer": self._answer,
            "topic": self._topic,
        }
        handlers[options["action"]](options)

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f'Unknown hotel "{slug}".')
        return tenant

    def _seed_demo(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["tenant"])
        knowledge_seed_demo(tenant)
        count = tenant.knowledge_entries.count()
        self.stdout.write(f'Hotel "{tenant.slug}": profile and {count} answers loaded.')

    def _answer(self, options: dict[str, Any]) -> None:
        topic = options["topic"]
        if topic not in KnowledgeTopic.values:
            raise CommandError(f'Unknown topic "{topic}": choose one of {", ".join(KnowledgeTopic.values)}.')
        language = _language(options["language"])
        tenant = self._tenant(options["tenant"])
        text = knowledge_answer(tenant=tenant, topic=topic, language=language or tenant.default_language)
        if text is None:
            raise CommandError(f'Hotel "{tenant.slug}" has no answer about {topic}.')
        self.stdout.write(text)

    def _topic(self, options: dict[str, Any]) -> None:
        self.stdout.write(topic_for_text(options["text"], _language(options["language"])) or "(none)")
