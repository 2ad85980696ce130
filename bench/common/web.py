"""HTTP bits: signed WhatsApp webhook requests as raw bytes, response parsing, a one-shot blocking request."""

from __future__ import annotations


def webhook_request(
    host: str,
    port: int,
    *,
    path: str,
    phone_number_id: str,
    app_secret: str,
    wamid: str,
    sender: str,
    text: str,
    accept: bool = True,
) -> bytes:
    """A complete signed ``POST`` of one inbound text message (``Connection: close``)."""
    from tests.whatsapp_payloads import encode, envelope, sign, text_message

    body = encode(envelope(phone_number_id, messages=[text_message(text, sender=sender, message_id=wamid)]))
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "User-Agent: facebookexternalua\r\n"
        + ("Accept: */*\r\n" if accept else "")
        + "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Hub-Signature-256: {sign(body, app_secret)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None


def http_status(raw: bytes) -> int:
    try:
        return int(raw[9:12])
    except ValueError:
        return 0


def http_request(port: int, method: str, path: str, body: bytes | None = None, headers=None) -> tuple[int, bytes]:
    """One request to 127.0.0.1:``port`` (10 s timeout): (status, body)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
