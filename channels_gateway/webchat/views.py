"""Guest web chat over HTTP: the hosted page, the embeddable script and the public messages API.

The API is public (no session, no CSRF): a browser proves nothing but its ``guest_token``. Browsers are held to the
account's ``allowed_origins`` (plus our own host) through the ``Origin`` header; answers carry the CORS headers
only for an allowed origin. Clients that send no ``Origin`` (not a browser page) are not origin-checked.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.http import require_GET
from rest_framework import serializers
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_gateway.webchat import services
from tenants.models import Tenant
from tenants.services import ResolvedAccount

SUPPORTED = tuple(code for code, _label in settings.LANGUAGES)

# Strings the script shows, sent to the browser in every supported language (``widget.js`` picks one).
CATALOG = {
    "title": gettext_lazy("Chat with us"),
    "open": gettext_lazy("Open the chat"),
    "close": gettext_lazy("Close the chat"),
    "placeholder": gettext_lazy("Write a message…"),
    "send": gettext_lazy("Send"),
    "sending": gettext_lazy("Sending…"),
    "failed": gettext_lazy("Not sent. Tap to retry."),
    "reconnecting": gettext_lazy("Reconnecting…"),
    "rate_limited": gettext_lazy("You are writing very fast. Please wait a moment."),
    "too_long": gettext_lazy("This message is too long."),
    "welcome": gettext_lazy("Hello! Write to us and we will answer right away."),
    "staff": gettext_lazy("Reception"),
    "unavailable": gettext_lazy("The chat is not available right now."),
}


def request_language(request: HttpRequest, default: str) -> str:
    """``?lang=`` if supported, else the first supported language of ``Accept-Language``, else ``default``."""
    asked = request.GET.get("lang", "")
    if asked in SUPPORTED:
        return asked
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        base = code.split("-")[0].lower()
        if base in SUPPORTED:
            return base
    return default if default in SUPPORTED else settings.LANGUAGE_CODE


def catalog_for(language: str) -> dict[str, str]:
    with translation.override(language):
        return {key: str(value) for key, value in CATALOG.items()}


@require_GET
def chat_page(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """``/chat/<tenant-slug>/``: a full-page chat with the hotel (its first active web chat)."""
    tenant = get_object_or_404(Tenant, slug=tenant_slug, is_active=True)
    account = services.webchat_account_for_tenant(tenant=tenant)
    if account is None:
        raise Http404("no web chat")
    language = request_language(request, tenant.default_language)
    with translation.override(language):
        response = render(
            request,
            "webchat/chat.html",
            {"hotel_name": tenant.name, "public_key": account.external_id, "language": language},
        )
    response["Content-Language"] = language
    return response


@functools.cache
def _script_source_cached() -> str:
    return _script_source()


def _script_source() -> str:
    path = finders.find("webchat/widget.js")
    if not path:
        raise Http404("widget.js missing")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@require_GET
def widget_script(request: HttpRequest) -> HttpResponse:
    """``/webchat/widget.js``: a stable URL for the embeddable script, with its strings and stylesheet address."""
    config = {
        "catalog": {code: catalog_for(code) for code in SUPPORTED},
        "css": request.build_absolute_uri(static("webchat/chat.css")),
    }
    preamble = (
        "window.HotelWebchat = window.HotelWebchat || {};\n"
        f"window.HotelWebchat.config = {json.dumps(config, ensure_ascii=True)};\n"
    )
    source = _script_source() if settings.DEBUG else _script_source_cached()
    response = HttpResponse(preamble + source, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


# --- public messages API -----------------------------------------------------------------------------------------
def _error(code: str, detail: Any, status: int) -> Response:
    return Response({"error": code, "detail": detail}, status=status)


class WebChatMessagesView(APIView):
    """``POST`` a guest message / ``GET`` the guest's history on one web chat."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class PostInputSerializer(serializers.Serializer):
        client_message_id = serializers.RegexField(services.CLIENT_MESSAGE_ID_PATTERN)
        text = serializers.CharField(max_length=services.MAX_TEXT_LENGTH, trim_whitespace=True)
        guest_token = serializers.RegexField(services.TOKEN_PATTERN, required=False)
        name = serializers.CharField(max_length=services.MAX_NAME_LENGTH, required=False, allow_blank=True)

    class GetInputSerializer(serializers.Serializer):
        guest_token = serializers.RegexField(services.TOKEN_PATTERN)
        after = serializers.IntegerField(min_value=0, required=False, default=0)

    cors_origin: str = ""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        account = services.webchat_account_resolve(kwargs["public_key"])
        if account is None:
            raise _NotFound
        origin = request.headers.get("Origin")
        if origin is not None:
            if not services.webchat_origin_allowed(account=account, origin=origin, own_host=request.get_host()):
                raise _OriginRefused
            self.cors_origin = origin
        self.account: ResolvedAccount = account

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _NotFound):
            return _error("not_found", _("Unknown web chat."), 404)
        if isinstance(exc, _OriginRefused):
            return _error("origin_not_allowed", _("This site may not use this web chat."), 403)
        if isinstance(exc, ParseError | UnsupportedMediaType):
            return _error("invalid", _("Send a JSON object."), 400)
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.cors_origin:
            response["Access-Control-Allow-Origin"] = self.cors_origin
            response["Access-Control-Expose-Headers"] = "Retry-After"
        response["Vary"] = "Origin"
        response["Cache-Control"] = "no-store"
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = Response(status=204)
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
        return response

    def _rate_limited(self, guest_token: str, action: str, per_minute: int) -> Response | None:
        retry_after = services.webchat_rate_limited(
            account=self.account, guest_token=guest_token, action=action, per_minute=per_minute
        )
        if not retry_after:
            return None
        response = _error("rate_limited", _("You are writing very fast. Please wait a moment."), 429)
        response.data["retry_after"] = retry_after
        response["Retry-After"] = str(retry_after)
        return response

    def post(self, request: Request, public_key: str) -> Response:
        if not isinstance(request.data, dict):
            return _error("invalid", _("Send a JSON object."), 400)
        serializer = self.PostInputSerializer(data=request.data)
        if not serializer.is_valid():
            return _error("invalid", serializer.errors, 400)
        data = serializer.validated_data
        guest_token = data.get("guest_token") or services.new_guest_token()
        limited = self._rate_limited(guest_token, "post", services.webchat_post_rate_per_minute())
        if limited is not None:
            return limited
        result = services.webchat_guest_message(
            account=self.account,
            guest_token=guest_token,
            client_message_id=data["client_message_id"],
            text=data["text"],
            guest_name=data.get("name", ""),
        )
        body = {
            "guest_token": guest_token,
            "conversation": str(result.conversation_id),
            "created": result.created,
            "message": result.message,
        }
        return Response(body, status=201 if result.created else 200)

    def get(self, request: Request, public_key: str) -> Response:
        serializer = self.GetInputSerializer(data=request.query_params)
        if not serializer.is_valid():
            return _error("invalid", serializer.errors, 400)
        guest_token = serializer.validated_data["guest_token"]
        limited = self._rate_limited(guest_token, "read", services.READ_RATE_PER_MINUTE)
        if limited is not None:
            return limited
        history = services.webchat_history(
            account=self.account, guest_token=guest_token, after=serializer.validated_data["after"]
        )
        return Response(
            {
                "guest_token": guest_token,
                "conversation": str(history.conversation_id) if history.conversation_id else None,
                "hotel": {"name": history.hotel_name, "language": history.hotel_language},
                "messages": history.messages,
                "more": history.more,
            }
        )


class _NotFound(Exception):
    pass


class _OriginRefused(Exception):
    pass
