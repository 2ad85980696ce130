"""What every JSON websocket consumer of the app shares: a frame that is not a JSON text frame is answered with an
error frame, like an unknown message type, instead of raising inside the consumer (which drops the connection)."""

from __future__ import annotations

import json
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class _Undecodable:
    """Stands for a frame that is not JSON: no ``receive_json`` handler matches it."""


UNDECODABLE = _Undecodable()


class TolerantJsonWebsocketConsumer(AsyncJsonWebsocketConsumer):
    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except ValueError:
            return UNDECODABLE

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:  # a binary frame: this protocol has none
            await self.send_json({"type": "error", "code": "bad_request"})
            return
        await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
