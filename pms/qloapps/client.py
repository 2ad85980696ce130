"""HTTP to the QloApps webservice and the translation of its answers into ``pms.base`` errors.

How QloApps answers (``classes/webservice/WebserviceRequest.php``, ``WebserviceOutputJSON.php``,
``WebserviceOutputXML.php``, ``WebserviceSpecificManagementBookings.php``):

* errors are ``{"errors": [{"code": 34, "message": "..."}]}`` with ``output_format=JSON``, else
  ``<prestashop><errors><error><code><![CDATA[..]]></code><message><![CDATA[..]]></message></error>...``;
* a bad, inactive or under-privileged key is 401 (403 for a key not allowed on the shop); we raise
  ``PMSUnavailable("QloApps refused the webservice key ...")``: it is a configuration problem, not something the
  guest did, and the hotel must be served in degraded mode until an operator fixes the key — so it is transient
  for the breaker (it opens, and fails fast, instead of hammering QloApps with a key it refuses);
* ``GET /api/bookings/{id}`` of an unknown id is 404 with an empty body → ``PMSNotFound``;
* ``/api/bookings`` refusals are HTTP 400 (QloApps' ``WebserviceException($msg, [404, 400])``: error code 404 in
  the body, status 400): "Requested room(s) not available" → ``PMSNoAvailability``, "Booking not found." →
  ``PMSNotFound``, any other 400 → ``PMSInvalidRequest`` with QloApps' message;
* 405 (a verb the key may not use) → ``PMSUnavailable`` (configuration again); 5xx, connection errors →
  ``PMSUnavailable``; httpx timeouts → ``PMSTimeout``; a 2xx whose body is not the JSON we expect →
  ``PMSUnavailable("malformed answer ...")``.
"""

from __future__ import annotations

import html
import json
import re
import ssl
from typing import Any

import httpx

from pms.base import PMSInvalidRequest, PMSNoAvailability, PMSNotFound, PMSTimeout, PMSUnavailable

MALFORMED = "malformed answer from QloApps"
NOT_AVAILABLE_RE = re.compile(r"not available", re.IGNORECASE)
NOT_FOUND_RE = re.compile(r"booking not found", re.IGNORECASE)
# Error bodies are tiny and fixed (``WebserviceOutputXML::renderErrors``): read with a pattern, not an XML parser,
# so a hostile or broken server cannot feed entity bombs to one.
XML_MESSAGE_RE = re.compile(r"<message>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</message>", re.DOTALL)


def error_messages(response: httpx.Response) -> list[str]:
    """QloApps' error messages from a JSON or XML error body (empty when there is none we can read)."""
    text = response.text.strip()
    if not text:
        return []
    if text.startswith(("{", "[")):
        try:
            errors = json.loads(text).get("errors") or []
            return [str(e.get("message", "")).strip() for e in errors if isinstance(e, dict) and e.get("message")]
        except (ValueError, AttributeError):
            return []
    if text.startswith("<"):
        found = ((cdata or plain).strip() for cdata, plain in XML_MESSAGE_RE.findall(text))
        return [html.unescape(message) for message in found if message]
    return []


_TLS_CONTEXT: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    global _TLS_CONTEXT
    if _TLS_CONTEXT is None:
        _TLS_CONTEXT = ssl.create_default_context()
    return _TLS_CONTEXT


class QloAppsClient:
    """One ``httpx.Client`` with the hotel's base URL, key and timeouts; JSON output on every call."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        connect_timeout: float,
        read_timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("QloApps needs a base URL (https://host/api)")
        if not api_key:
            raise ValueError("QloApps needs a webservice key")
        self._options: dict[str, Any] = {
            "base_url": base_url.rstrip("/") + "/",
            "auth": httpx.BasicAuth(api_key, ""),  # Authorization: Basic base64(KEY + ":")
            "timeout": httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            "headers": {"Accept": "application/json", "User-Agent": "hotel-agent"},
            "transport": transport,
            "follow_redirects": False,
        }
        self._http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        """Built on first use: an adapter whose breaker is open (or whose answers are cached) never pays for a
        client, and every client shares one TLS context (building one costs ~20 ms)."""
        if self._http is None:
            self._http = httpx.Client(**self._options, verify=_tls_context())
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        xml_body: str | None = None,
    ) -> Any:
        """The decoded JSON answer of a 2xx; a typed ``PMSError`` otherwise."""
        query = {**(params or {}), "output_format": "JSON"}
        kwargs: dict[str, Any] = {"params": query}
        if json_body is not None:
            kwargs["content"] = json.dumps(json_body).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        elif xml_body is not None:
            kwargs["content"] = xml_body.encode()
            kwargs["headers"] = {"Content-Type": "application/xml"}
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise PMSTimeout(f"QloApps timed out: {method} /{path}") from exc
        except httpx.HTTPError as exc:  # connection refused, DNS, protocol errors...
            raise PMSUnavailable(f"QloApps unreachable: {type(exc).__name__}") from exc
        return self._decode(method, path, response)

    def _decode(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except ValueError as exc:
                raise PMSUnavailable(f"{MALFORMED}: {method} /{path} is not JSON") from exc
        messages = error_messages(response)
        detail = "; ".join(messages) or response.reason_phrase or f"HTTP {status}"
        if status in (401, 403):
            raise PMSUnavailable(f"QloApps refused the webservice key (bad webservice key or no permission): {detail}")
        if status == 404:
            raise PMSNotFound(detail if messages else f"QloApps has no {path}")
        if status == 405:
            raise PMSUnavailable(f"QloApps does not allow {method} /{path} with this key: {detail}")
        if status >= 500:
            raise PMSUnavailable(f"QloApps error {status}: {detail}"[:300])
        if any(NOT_AVAILABLE_RE.search(m) for m in messages):
            raise PMSNoAvailability(detail)
        if any(NOT_FOUND_RE.search(m) for m in messages):
            raise PMSNotFound(detail)
        raise PMSInvalidRequest(detail if messages else f"QloApps rejected the request (HTTP {status})")
