"""Staff console JSON API (``/api/console/``): session authentication with CSRF, every request scoped to the staff
member's active hotel. A conversation that does not exist and one of another hotel are the same 404.

Errors: 403 ``{"detail"}`` when not logged in or CSRF fails; 403 ``{"error": "no_active_hotel", "detail"}`` without
an active hotel; 400 ``{field: [messages]}`` for invalid input; 404 ``{"detail"}``; 409 (or 403 for
``not_allowed``) ``{"error": code, "detail"}`` when the conversation's state forbids the action.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.console import selectors, services
from conversations.console.serializers import (
    CannedReplyOutputSerializer,
    ConversationOutputSerializer,
    MessageOutputSerializer,
)
from conversations.events import REPLAY_LIMIT
from conversations.models import Conversation, ConversationStatus
from tenants.models import SUPPORTED_LANGUAGES, ChannelType
from tenants.selectors import active_tenant_for

TEXT_MAX_CHARS = 4096
IDEMPOTENCY_KEY_MAX_CHARS = 100


class ConsolePagination(PageNumberPagination):
    page_size = 50


class ConsoleAPIView(APIView):
    """Authenticated staff with an active hotel (``self.tenant``); anything else is a 403."""

    tenant: Any = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, IsAuthenticated, CSRF on unsafe methods
        self.tenant = active_tenant_for(user=request.user, session=request.session)
        if self.tenant is None:
            raise PermissionDenied({"error": "no_active_hotel", "detail": _("Pick the hotel you are working for.")})

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.ConsoleActionError):
            code = status.HTTP_403_FORBIDDEN if exc.code == "not_allowed" else status.HTTP_409_CONFLICT
            return Response({"error": exc.code, "detail": exc.detail}, status=code)
        return super().handle_exception(exc)

    def conversation(self, conversation_id: Any) -> Conversation:
        return selectors.conversation_get_for_staff(
            user=self.request.user, tenant=self.tenant, conversation_id=conversation_id
        )


class TextInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=TEXT_MAX_CHARS, trim_whitespace=True, allow_blank=False)


# --- conversations --------------------------------------------------------------------------------------------------
class ConversationListApi(ConsoleAPIView):
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ConversationStatus.choices, required=False, allow_blank=True)
        channel = serializers.ChoiceField(choices=ChannelType.choices, required=False, allow_blank=True)
        assignee = serializers.RegexField(r"^(me|none|\d{1,18})$", required=False, allow_blank=True)
        q = serializers.CharField(max_length=100, required=False, allow_blank=True)

    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = selectors.conversation_list_for_staff(tenant=self.tenant, user=request.user, **params.validated_data)
        paginator = ConsolePagination()
        page = paginator.paginate_queryset(query, request, view=self)
        return paginator.get_paginated_response(ConversationOutputSerializer(page, many=True).data)


class ConversationDetailApi(ConsoleAPIView):
    def get(self, request: Request, conversation_id: Any) -> Response:
        conversation = self.conversation(conversation_id)
        panel = selectors.conversation_guest_panel(conversation=conversation)
        return Response({**ConversationOutputSerializer(conversation).data, "panel": panel})


class ConversationMessagesApi(ConsoleAPIView):
    class InputSerializer(serializers.Serializer):
        after = serializers.IntegerField(min_value=0, required=False, default=0)

    def get(self, request: Request, conversation_id: Any) -> Response:
        conversation = self.conversation(conversation_id)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = selectors.messages_for_staff(conversation=conversation, after=params.validated_data["after"])
        has_more = len(rows) > selectors.MESSAGES_PAGE
        rows = rows[: selectors.MESSAGES_PAGE]
        return Response({"results": MessageOutputSerializer(rows, many=True).data, "has_more": has_more})


class ConversationClaimApi(ConsoleAPIView):
    def post(self, request: Request, conversation_id: Any) -> Response:
        conversation = services.conversation_claim(conversation=self.conversation(conversation_id), user=request.user)
        return Response(ConversationOutputSerializer(conversation).data)


class ConversationReleaseApi(ConsoleAPIView):
    def post(self, request: Request, conversation_id: Any) -> Response:
        conversation = services.conversation_release(conversation=self.conversation(conversation_id), user=request.user)
        return Response(ConversationOutputSerializer(conversation).data)


class ConversationResolveApi(ConsoleAPIView):
    def post(self, request: Request, conversation_id: Any) -> Response:
        conversation = services.conversation_resolve(conversation=self.conversation(conversation_id), user=request.user)
        return Response(ConversationOutputSerializer(conversation).data)


class ConversationReplyApi(ConsoleAPIView):
    class InputSerializer(TextInputSerializer):
        idempotency_key = serializers.CharField(
            max_length=IDEMPOTENCY_KEY_MAX_CHARS,
            allow_blank=False,
            error_messages={"required": _("The Idempotency-Key header is required.")},
        )

    def post(self, request: Request, conversation_id: Any) -> Response:
        conversation = self.conversation(conversation_id)
        data = {"text": request.data.get("text") if isinstance(request.data, dict) else None}
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            data["idempotency_key"] = key
        payload = self.InputSerializer(data=data)
        payload.is_valid(raise_exception=True)
        result = services.staff_reply_send(conversation=conversation, user=request.user, **payload.validated_data)
        return Response(
            MessageOutputSerializer(result.message).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ConversationNotesApi(ConsoleAPIView):
    class InputSerializer(TextInputSerializer):
        # Optional for notes (they reach no guest), honoured when given: a retried request adds no second note.
        idempotency_key = serializers.CharField(max_length=IDEMPOTENCY_KEY_MAX_CHARS, required=False, allow_blank=True)

    def post(self, request: Request, conversation_id: Any) -> Response:
        conversation = self.conversation(conversation_id)
        data = {"text": request.data.get("text") if isinstance(request.data, dict) else None}
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            data["idempotency_key"] = key
        payload = self.InputSerializer(data=data)
        payload.is_valid(raise_exception=True)
        result = services.note_add_once(
            conversation=conversation,
            user=request.user,
            text=payload.validated_data["text"],
            idempotency_key=payload.validated_data.get("idempotency_key", ""),
        )
        return Response(
            MessageOutputSerializer(result.message).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


# --- canned replies and event replay --------------------------------------------------------------------------------
class CannedReplyListApi(ConsoleAPIView):
    class InputSerializer(serializers.Serializer):
        language = serializers.ChoiceField(choices=SUPPORTED_LANGUAGES, required=False, allow_blank=True)

    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        replies = selectors.canned_replies_for_staff(tenant=self.tenant, language=params.validated_data.get("language"))
        return Response({"results": CannedReplyOutputSerializer(replies, many=True).data})


class EventReplayApi(ConsoleAPIView):
    """Events after ``after`` (oldest first, at most ``REPLAY_LIMIT``; ``has_more`` says to ask again from
    ``last_id``). Without ``after``: no events, only ``last_id`` = the hotel's latest event, to start from."""

    class InputSerializer(serializers.Serializer):
        after = serializers.IntegerField(min_value=0, required=False)

    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        after = params.validated_data.get("after")
        if after is None:
            return Response(
                {"results": [], "last_id": selectors.event_cursor_for_tenant(tenant=self.tenant), "has_more": False}
            )
        results = selectors.events_for_staff(tenant=self.tenant, after=after)
        return Response(
            {
                "results": results,
                "last_id": results[-1]["id"] if results else after,
                "has_more": len(results) >= REPLAY_LIMIT,
            }
        )
