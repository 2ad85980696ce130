"""A local fake OpenAI-compatible chat-completions server for the LLM engine's tests (loopback only)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    """Answers ``POST /v1/chat/completions`` and records every request (path, lower-cased headers, JSON body).

    Set before a call: ``content`` (a dict is sent as JSON text, a string as is) as the assistant message,
    ``status`` for the HTTP status, ``raw_body`` to send these bytes instead of a completion, ``delay`` seconds
    to wait before answering (cut short when the server stops, so a timed-out test does not wait it out).
    """

    def __init__(self, *, content: dict[str, Any] | str | None = None, status: int = 200, delay: float = 0.0) -> None:
        self.content: dict[str, Any] | str | None = content
        self.status = status
        self.delay = delay
        self.raw_body: bytes | None = None
        self.requests: list[dict[str, Any]] = []
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
                    fake._stopping.wait(fake.delay)
                if self.path != "/v1/chat/completions":
                    status, data = 404, b'{"error": {"message": "not found"}}'
                elif fake.raw_body is not None:
                    status, data = fake.status, fake.raw_body
                else:
                    status, data = fake.status, json.dumps(fake.completion((parsed or {}).get("model"))).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def completion(self, model: str | None) -> dict[str, Any]:
        content = self.content if isinstance(self.content, str) else json.dumps(self.content)
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model or "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
