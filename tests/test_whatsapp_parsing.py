"""WhatsApp payload → unified messages/statuses, and the signature primitive (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from channels_gateway.adapters.whatsapp import account_ids_in, parse_payload, signature_for, verify_signature
from channels_gateway.types import PayloadError, SignatureError
from tests import whatsapp_payloads as wa

ACCOUNT = "106540352242922"


def parse_one(message: dict, **envelope_kwargs):
    batch = parse_payload(wa.encode(wa.envelope(ACCOUNT, messages=[message], **envelope_kwargs)))
    assert len(batch.messages) == 1
    assert batch.statuses == []
    return batch.messages[0]


# --- signature ------------------------------------------------------------------------------------------------
def test_signature_matches_the_documented_test_vector():
    expected = "sha256=5f9beeed2e1e89805bea7cbb95a08185aa38c3c39eafbadecbf2cfeafb2955d7"

    assert signature_for(b'{"hello":"world"}', "appsecret") == expected
    verify_signature(b'{"hello":"world"}', expected, ["appsecret"])  # does not raise


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("sha256=" + "0" * 64, "invalid_signature"),
        ("sha1=5f9beeed2e1e89805bea7cbb95a08185aa38c3c3", "invalid_signature"),
        ("5f9beeed2e1e89805bea7cbb95a08185aa38c3c39eafbadecbf2cfeafb2955d7", "invalid_signature"),
        ("sha256=5f9beeed2e1e89805bea7cbb95a08185aa38c3c39eafbadecbf2cfeafb2955d", "invalid_signature"),
    ],
)
def test_verify_signature_refuses_missing_or_wrong_headers(header, reason):
    with pytest.raises(SignatureError) as excinfo:
        verify_signature(b'{"hello":"world"}', header, ["appsecret"])

    assert str(excinfo.value) == reason


def test_verify_signature_covers_the_raw_bytes():
    signature = signature_for(b'{"hello":"world"}', "appsecret")

    with pytest.raises(SignatureError):
        verify_signature(b'{"hello": "world"}', signature, ["appsecret"])  # same JSON, other bytes


def test_verify_signature_requires_every_secret():
    body = b'{"hello":"world"}'

    with pytest.raises(SignatureError):
        verify_signature(body, signature_for(body, "appsecret"), ["appsecret", "other-secret"])


def test_verify_signature_without_any_secret_refuses():
    body = b'{"hello":"world"}'

    with pytest.raises(SignatureError) as excinfo:
        verify_signature(body, signature_for(body, ""), [""])

    assert str(excinfo.value) == "no_secret_configured"


# --- message kinds --------------------------------------------------------------------------------------------
def test_text_message():
    raw = wa.text_message(
        "Hola, ¿tenéis parking?", message_id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    )

    message = parse_one(raw)

    assert message.channel == "whatsapp"
    assert message.account_external_id == ACCOUNT
    assert message.provider_message_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert message.guest_address == "16505551234"
    assert message.guest_name == "Sheena Nelson"
    assert message.kind == "text"
    assert message.text == "Hola, ¿tenéis parking?"
    assert message.attachment == {}
    assert message.reply_to_provider_id == ""
    assert message.timestamp == datetime.fromtimestamp(int(raw["timestamp"]), tz=UTC)
    assert message.raw == raw


def test_text_reply_keeps_the_quoted_message_id():
    message = parse_one(wa.text_reply("Sí, a las 14h", context_id="wamid.quoted-business-message"))

    assert message.kind == "text"
    assert message.text == "Sí, a las 14h"
    assert message.reply_to_provider_id == "wamid.quoted-business-message"


def test_voice_note():
    message = parse_one(wa.audio_message(voice=True))

    assert message.kind == "audio"
    assert message.text == ""
    assert message.attachment == {
        "id": "1908647269898587",
        "mime_type": "audio/ogg; codecs=opus",
        "sha256": "a" * 44,
        "voice": True,
    }


def test_image_with_caption():
    message = parse_one(wa.media_message("image", caption="La vista desde la 204"))

    assert message.kind == "image"
    assert message.text == "La vista desde la 204"
    assert message.attachment == {"id": "image-media-1", "mime_type": "image/jpeg", "sha256": "b" * 44}


def test_video_without_caption():
    message = parse_one(wa.media_message("video"))

    assert message.kind == "video"
    assert message.text == ""
    assert message.attachment == {"id": "video-media-1", "mime_type": "video/mp4", "sha256": "b" * 44}


def test_sticker():
    message = parse_one(wa.media_message("sticker", animated=False))

    assert message.kind == "sticker"
    assert message.text == ""
    assert message.attachment == {
        "id": "sticker-media-1",
        "mime_type": "image/webp",
        "sha256": "b" * 44,
        "animated": False,
    }


def test_document_with_filename():
    message = parse_one(wa.media_message("document", filename="reserva-1234.pdf", caption="Mi reserva"))

    assert message.kind == "document"
    assert message.text == "Mi reserva"
    assert message.attachment == {
        "id": "document-media-1",
        "mime_type": "application/pdf",
        "sha256": "b" * 44,
        "filename": "reserva-1234.pdf",
    }


def test_interactive_button_reply():
    message = parse_one(wa.button_reply("late-checkout", "Late checkout"))

    assert message.kind == "interactive"
    assert message.text == "Late checkout"
    assert message.attachment == {"type": "button_reply", "id": "late-checkout", "title": "Late checkout"}


def test_interactive_list_reply():
    message = parse_one(wa.list_reply("room-204", "Habitación 204", "Doble, vista al mar"))

    assert message.kind == "interactive"
    assert message.text == "Habitación 204"
    assert message.attachment == {
        "type": "list_reply",
        "id": "room-204",
        "title": "Habitación 204",
        "description": "Doble, vista al mar",
    }


def test_template_quick_reply_button():
    message = parse_one(wa.template_button("No", "NO_THANKS"))

    assert message.kind == "interactive"
    assert message.text == "No"
    assert message.attachment == {"type": "button", "payload": "NO_THANKS"}


def test_location():
    message = parse_one(
        wa.location_message(latitude=37.44, longitude=-122.16, name="Hotel Sol y Mar", address="Paseo Marítimo 1")
    )

    assert message.kind == "location"
    assert message.text == "Hotel Sol y Mar, Paseo Marítimo 1"
    assert message.attachment == {
        "latitude": 37.44,
        "longitude": -122.16,
        "name": "Hotel Sol y Mar",
        "address": "Paseo Marítimo 1",
    }


def test_unknown_type_is_kept_as_unsupported():
    message = parse_one(wa.unknown_message(code=131051))

    assert message.kind == "unsupported"
    assert message.text == ""
    assert message.attachment == {
        "type": "unknown",
        "errors": [
            {"code": 131051, "title": "Message type unknown", "details": "Message type is currently not supported"}
        ],
    }


def test_username_user_without_phone_number():
    raw = wa.username_message("Hi there", user_id="US.13491208655302741918")
    contacts = [{"profile": {"name": "Sheena"}, "user_id": "US.13491208655302741918", "username": "@sheena"}]

    message = parse_one(raw, contacts=contacts)

    assert "from" not in raw
    assert message.guest_address == "US.13491208655302741918"
    assert message.guest_name == "Sheena"
    assert message.kind == "text"
    assert message.text == "Hi there"


# --- statuses and batches -------------------------------------------------------------------------------------
def test_statuses_are_parsed_and_played_maps_to_read():
    payload = wa.envelope(
        ACCOUNT,
        statuses=[
            wa.status("wamid.a", "delivered"),
            wa.status("wamid.b", "played"),
            wa.status("wamid.c", "failed", errors=[{"code": 131047, "title": "Re-engagement message"}]),
            wa.status("wamid.d", "deleted"),  # nothing to move: ignored
        ],
    )

    batch = parse_payload(wa.encode(payload))

    assert batch.messages == []
    assert [(s.provider_message_id, s.status, s.error_code) for s in batch.statuses] == [
        ("wamid.a", "delivered", ""),
        ("wamid.b", "read", ""),
        ("wamid.c", "failed", "131047"),
    ]
    assert batch.statuses[2].error_detail == "Re-engagement message"
    assert batch.statuses[0].recipient == "16505551234"


def test_batch_of_entries_and_changes_keeps_each_account_and_order():
    payload = wa.batch(
        [
            [
                wa.change_value("111", messages=[wa.text_message("a1"), wa.text_message("a2")]),
                wa.change_value("222", messages=[wa.text_message("b1")], statuses=[wa.status("wamid.x", "read")]),
            ],
            [wa.change_value("111", messages=[wa.text_message("a3")])],
        ]
    )
    payload["entry"][1]["changes"].append({"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}})

    batch = parse_payload(wa.encode(payload))

    assert [(m.account_external_id, m.text) for m in batch.messages] == [
        ("111", "a1"),
        ("111", "a2"),
        ("222", "b1"),
        ("111", "a3"),
    ]
    assert [(s.account_external_id, s.status) for s in batch.statuses] == [("222", "read")]
    assert batch.account_external_ids == {"111", "222"}
    assert account_ids_in(wa.encode(payload)) == {"111", "222"}


# --- refused shapes -------------------------------------------------------------------------------------------
BAD_BODIES = wa.malformed_bodies(ACCOUNT)


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_malformed_payloads_raise_payload_error(body):
    with pytest.raises(PayloadError):
        parse_payload(body)


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_account_ids_in_never_raises(body):
    ids = account_ids_in(body)

    assert ids is None or isinstance(ids, set)


@pytest.mark.parametrize("bad", [None, ["late-checkout"], {"id": "x"}, 7, True])
def test_quick_reply_fields_of_the_wrong_type_are_dropped_not_stored(bad):
    """Found by tests/test_webhook_fuzz.py: a list or null reply id was stored as is and made the agent crash on
    every retry (the guest never answered). Only strings are kept; the rest of the message still arrives."""
    reply = wa.button_reply()
    reply["interactive"]["button_reply"] = {"id": bad, "title": bad}
    message = parse_one(reply)
    assert message.kind == "interactive"
    assert message.text == ""
    assert message.attachment == {"type": "button_reply"}

    template = wa.template_button()
    template["button"] = {"text": bad, "payload": bad}
    message = parse_one(template)
    assert (message.text, message.attachment) == ("", {"type": "button", "payload": ""})


def test_media_location_and_context_fields_of_the_wrong_type_are_dropped():
    image = wa.media_message("image", caption="foto")
    image["image"].update({"id": ["x"], "mime_type": 3, "voice": "yes"})
    assert parse_one(image).attachment == {"sha256": "b" * 44}

    place = wa.location_message(latitude=1.5, longitude=2.5, name={"n": 1}, address="Calle Mayor 1")
    message = parse_one(place)
    assert message.text == "Calle Mayor 1"
    assert message.attachment == {"latitude": 1.5, "longitude": 2.5, "address": "Calle Mayor 1"}

    quoted = wa.text_reply("sí", context_id="wamid.prev")
    quoted["context"]["id"] = {"not": "an id"}
    assert parse_one(quoted).reply_to_provider_id == ""


def test_contact_in_an_unexpected_shape_only_loses_the_name():
    message = parse_one(wa.text_message("Hola"), contacts=[{"profile": "Sheena", "wa_id": "16505551234"}, "junk"])

    assert message.text == "Hola"
    assert message.guest_address == "16505551234"
    assert message.guest_name == ""


def test_strings_are_made_storable():
    body = wa.encode(wa.envelope(ACCOUNT, messages=[wa.text_message("a\u0000b \ud83d")]))
    assert b"a\\u0000b \\ud83d" in body  # a NUL and a lone surrogate, as JSON escapes

    message = parse_payload(body).messages[0]

    assert message.text == "ab ?"
    assert message.raw["text"] == {"body": "ab ?"}


def test_bad_message_after_a_good_one_fails_the_whole_batch():
    body = wa.encode(wa.envelope(ACCOUNT, messages=[wa.text_message("ok"), wa.without(wa.text_message("x"), "id")]))

    assert json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["text"] == {"body": "ok"}
    with pytest.raises(PayloadError):
        parse_payload(body)
