"""Local fake provider servers for end-to-end tests (loopback only)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeGraphAPI:
    """Answers ``POST /{phone_number_id}/messages`` like the WhatsApp Cloud API and records every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.received = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                fake.requests.append(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "json": parsed}
                )
                answer = {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": (parsed or {}).get("to"), "wa_id": (parsed or {}).get("to")}],
                    "messages": [{"id": f"wamid.fake.{uuid.uuid4().hex}"}],
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                fake.received.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v21.0"

    def __enter__(self) -> FakeGraphAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
