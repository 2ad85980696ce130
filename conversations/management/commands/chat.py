"""Chat with the agent as a guest, in the terminal, through the real pipeline.

    python manage.py chat --tenant demo [--today 2026-03-04]
Type /reset to start a new conversation, /quit (or Ctrl+D) to leave.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from conversations.management.commands.simulate import tenant_or_error, today_or_error
from conversations.simulator import Rehearsal


class Command(BaseCommand):
    help = "Interactive chat with the agent as one guest."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--guest", help="Guest id (continues that guest's conversation).")
        parser.add_argument("--name", default="", help="Guest display name.")
        parser.add_argument("--today", help="Pretend today is YYYY-MM-DD.")
        parser.add_argument("--debug", action="store_true", help="Show intent, confidence and language per turn.")

    def handle(self, *args, **options):
        tenant = tenant_or_error(options["tenant"])
        rehearsal = Rehearsal(
            tenant=tenant, guest=options.get("guest"), name=options["name"], today=today_or_error(options.get("today"))
        )
        self.stdout.write(f"Chatting with {tenant.name} as guest {rehearsal.guest}. /reset starts over, /quit leaves.")
        while True:
            try:
                text = input("you> ").strip()
            except (EOFError, KeyboardInterrupt):
                self.stdout.write("")
                return
            if not text:
                continue
            if text in ("/quit", "/exit"):
                return
            if text == "/reset":
                rehearsal.reset()
                self.stdout.write("(new conversation)")
                continue
            turn = rehearsal.send(text)
            if options["debug"]:
                self.stdout.write(f"  [{turn.intent} {turn.confidence} {turn.language} · {turn.conversation_status}]")
            if turn.reply is None:
                self.stdout.write(f"(no bot reply: the conversation is {turn.conversation_status}, staff will answer)")
                continue
            self.stdout.write(f"bot> {turn.reply}")
            if turn.options:
                self.stdout.write("     [" + "] [".join(turn.options) + "]")
