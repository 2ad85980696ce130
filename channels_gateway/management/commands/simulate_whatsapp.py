"""Talk to a running server as a WhatsApp guest: sends a correctly signed webhook and prints the bot's reply.

    python manage.py simulate_whatsapp "Hola, ¿tenéis habitación para el finde?"

By default it posts to http://127.0.0.1:8000/webhooks/whatsapp/ (the ``make run`` server) and waits for the reply
in the database both share. ``--in-process`` runs the webhook through Django's test client instead (no server).
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client

from channels_gateway.adapters.whatsapp import SIGNATURE_HEADER, signature_for
from conversations.models import Direction, Message, Sender


class Command(BaseCommand):
    help = "Send a signed WhatsApp webhook as a guest and print the reply."

    def add_arguments(self, parser):
        parser.add_argument("text", help="What the guest writes.")
        parser.add_argument("--url", default="http://127.0.0.1:8000/webhooks/whatsapp/")
        parser.add_argument("--phone-number-id", default=settings.DEMO_WHATSAPP_PHONE_NUMBER_ID)
        parser.add_argument("--from", dest="sender", default="34600111222", help="Guest's WhatsApp number.")
        parser.add_argument("--name", default="Ana García", help="Guest's profile name.")
        parser.add_argument("--timeout", type=float, default=15.0, help="Seconds to wait for the reply.")
        parser.add_argument("--in-process", action="store_true", help="Use Django's test client, no server.")

    def handle(self, *args, **options):
        self.phone_number_id = options["phone_number_id"]
        message_id = f"wamid.sim.{uuid.uuid4().hex}"
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "0",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "34910000000",
                                    "phone_number_id": options["phone_number_id"],
                                },
                                "contacts": [{"profile": {"name": options["name"]}, "wa_id": options["sender"]}],
                                "messages": [
                                    {
                                        "from": options["sender"],
                                        "id": message_id,
                                        "timestamp": str(int(time.time())),
                                        "type": "text",
                                        "text": {"body": options["text"]},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {SIGNATURE_HEADER: signature_for(body, settings.WHATSAPP_APP_SECRET)}
        status, answer = self._post(body, headers, options)
        if status != 200:
            raise CommandError(f"webhook answered {status}: {answer[:200]}")
        ack = json.loads(answer)
        if ack.get("unknown_accounts"):
            raise CommandError(
                f"phone_number_id {options['phone_number_id']} is not a known WhatsApp account (run seed_demo)."
            )
        reply = self._wait_for_reply(message_id, options["timeout"])
        if reply is None:
            raise CommandError(f"no reply within {options['timeout']:.0f} s (is a Celery worker running?)")
        self.stdout.write(reply.text)

    def _post(self, body: bytes, headers: dict[str, str], options) -> tuple[int, str]:
        if options["in_process"]:
            response = Client().post("/webhooks/whatsapp/", body, content_type="application/json", headers=headers)
            return response.status_code, response.content.decode()
        try:
            response = httpx.post(
                options["url"], content=body, headers={**headers, "Content-Type": "application/json"}, timeout=10
            )
        except httpx.HTTPError as exc:
            raise CommandError(f"cannot reach {options['url']}: {exc} (is `make run` serving?)") from exc
        return response.status_code, response.text

    def _wait_for_reply(self, message_id: str, timeout: float) -> Message | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = (
                Message.objects.filter(
                    reply_to__provider_message_id=message_id,
                    reply_to__channel_account__external_id=self.phone_number_id,
                    direction=Direction.OUTBOUND,
                    sender=Sender.BOT,
                )
                .order_by("created_at")
                .first()
            )
            if reply is not None:
                return reply
            time.sleep(0.2)
        return None
