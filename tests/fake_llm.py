"""A local fake OpenAI-compatible chat-completions server for the LLM engine's tests (loopback only)."""

from __future__ import annotations

import json
from typing import Any

from tests.fake_servers import RecordingJSONServer


class FakeOpenAI(RecordingJSONServer):
    """Answers ``POST /v1/chat/completions`` and records every request.

    Set before a call: ``content`` (a dict is sent as JSON text, a string as is) as the assistant message,
    ``status`` for the HTTP status, ``raw_body`` to send these bytes instead of a completion, ``delay`` seconds
    to wait before answering (cut short when the server stops, so a timed-out test does not wait it out).
    """

    base_path = "/v1"

    def __init__(self, *, content: dict[str, Any] | str | None = None, status: int = 200, delay: float = 0.0) -> None:
        super().__init__(delay=delay)
        self.content: dict[str, Any] | str | None = content
        self.status = status
        self.raw_body: bytes | None = None

    def answer(self, path: str, parsed: Any) -> tuple[int, bytes]:
        if path != "/v1/chat/completions":
            return 404, b'{"error": {"message": "not found"}}'
        if self.raw_body is not None:
            return self.status, self.raw_body
        return self.status, json.dumps(self.completion((parsed or {}).get("model"))).encode()

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
