"""Local fake provider servers for tests (loopback only)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RecordingJSONServer:
    """A threaded HTTP server on 127.0.0.1:<free port> that records every POST (path, lower-cased headers, JSON
    body) and answers with ``answer(path, parsed)``. Subclasses only decide the answer. Use as a context manager."""

    base_path = ""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.received = threading.Event()
        self._stopping = threading.Event()
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
                if fake.delay:
                    fake._stopping.wait(fake.delay)  # cut short when the server stops
                status, data = fake.answer(self.path, parsed)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout tests)
                    pass
                fake.received.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, path: str, parsed: Any) -> tuple[int, bytes]:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.base_path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()


class FakeGraphAPI(RecordingJSONServer):
    """Answers ``POST /{phone_number_id}/messages`` like the WhatsApp Cloud API."""

    base_path = "/v21.0"

    def answer(self, path: str, parsed: Any) -> tuple[int, bytes]:
        to = (parsed or {}).get("to")
        return 200, json.dumps(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.fake.{uuid.uuid4().hex}"}],
            }
        ).encode()
