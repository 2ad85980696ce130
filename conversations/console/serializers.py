"""Output shapes shared by the console API's views. They extend the realtime payloads of ``conversations.events``
(same keys, same types), so a row fetched from the API and one received as an event render the same way."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from conversations import events
from conversations.console.services import console_message_payload, staff_name


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


class ConversationOutputSerializer(serializers.BaseSerializer):
    """``events.conversation_payload`` + ``assignee_name``, timestamps and the last message's text (lists)."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            **events.conversation_payload(instance),
            "assignee_name": staff_name(instance.assignee) if instance.assignee_id else None,
            "created_at": _iso(instance.created_at),
            "updated_at": _iso(instance.updated_at),
            "closed_at": _iso(instance.closed_at),
            "last_message_text": getattr(instance, "last_message_text", None),
        }


class MessageOutputSerializer(serializers.BaseSerializer):
    """``events.message_payload`` + ``is_internal`` and ``author`` ({id, name} or null)."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return console_message_payload(instance)


class CannedReplyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    language = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField()
