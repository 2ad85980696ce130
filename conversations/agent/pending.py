"""Turns that answer the agent's own question: a slot it asked for, or a yes/no to a confirmation.

``resolve_pending`` returns a ``Reply`` when the message answered the pending question, or ``None`` when the guest
moved on (the orchestrator then routes the message normally and the pending question is dropped).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from conversations.agent.entities.rooms import one_edit
from conversations.agent.handlers import booking, manage, stay
from conversations.agent.handlers.common import yes_no_options
from conversations.agent.nlu.base import SOCIAL_INTENTS
from conversations.agent.nlu.text import normalize
from conversations.agent.nlu.training import social_words
from conversations.agent.types import Reply, TurnContext

AFFIRM, DENY = "affirm", "deny"
# A yes or no the NLU is not confident of (below the hotel's threshold; for a "yes" that books, cancels or changes a
# stay, below NLU_CONFIRMATION_THRESHOLD): the question is asked again.
UNSURE_YES_NO = "unsure_yes_no"
FLOW_DETAILS = frozenset(
    {
        "check_in",
        "check_out",
        "nights",
        "adults",
        "children",
        "room_type",
        "guest_name",
        "email",
        "phone",
        "booking_ref",
    }
)
# A guest who asks for a person, complains or cancels has left the question; those always route normally.
ESCAPE_INTENTS = frozenset({"human_handoff", "complaint", "cancel_reservation", "goodbye"})
_BARE_NUMBER = re.compile(r"^\D{0,12}?(\d{1,2})\D{0,12}$")
_REFERENCE = re.compile(r"^[#\s]*([A-Za-z0-9][A-Za-z0-9-]{3,15})[\s.!]*$")
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+){0,4}$", re.UNICODE)
# After an availability answer, a message that only changes the stay or the party asks the same question again.
_STAY_KEYS = ("check_in", "check_out", "nights", "adults", "children")
_FOLLOW_UP_INTENTS = frozenset({"check_availability", "room_info", "out_of_scope"})
# Picking from the rooms just listed, by position or price ("la primera", "the second one", "a mais barata"). Folded
# text. "cuarto"/"quarto" are rooms, not ordinals, so only the feminine fourth counts.
_ORDINALS = {
    1: ("1st", "primer", "primera", "primero", "primeira", "primeiro", "first"),
    2: ("2nd", "segunda", "segundo", "second"),
    3: ("3rd", "tercera", "tercer", "tercero", "terceira", "terceiro", "third"),
    4: ("4th", "cuarta", "quarta", "fourth"),
    5: ("5th", "quinta", "quinto", "fifth"),
    -1: ("ultima", "ultimo", "last"),
}
_ORDINAL_WORDS = {word: position for position, words in _ORDINALS.items() for word in words}
_CHEAPEST = re.compile(
    r"\b((la|el|lo) mas (barat[oa]|economic[oa])|(a|o) mais (barat[oa]|economic[oa])|(the )?cheapest|least expensive|"
    r"menor precio|menor preco|cualquiera|me da igual|da igual|whichever|qualquer um|qualquer uma|tanto faz)\b"
)
_PRICIEST = re.compile(r"\b((la|el|lo) mas car[oa]|(a|o) mais car[oa]|most expensive|dearest)\b")
# Without the article it asks for more: "¿algo más barato?", "anything cheaper?", "tem mais barato?".
_CHEAPER = re.compile(
    r"\b(mas barat[oa]s?|mais barat[oa]s?|cheaper|less expensive|mas economic[oa]s?|mais economic[oa]s?)\b"
)
_LISTED_CHOICE_WORDS = 6  # longer messages say more than which of the list
# Words in room names that tell no room from another, and words of a sentence that rooms' names may also have.
_NOT_A_ROOM_NAME = frozenset(
    {"room", "rooms", "habitacion", "habitaciones", "cuarto", "cuartos", "quarto", "quartos", "with", "please",
     "favor", "quiero", "quero", "want", "take", "that", "this", "esta", "este", "essa", "esse", "para", "prefer",
     "prefiero", "prefiro", "like", "gustaria", "reservar", "book", "booking", "reserva", "okay", "vale"}
)  # fmt: skip
_NUMBER_WORDS = {
    "uno": 1, "una": 1, "one": 1, "um": 1, "uma": 1, "dos": 2, "two": 2, "dois": 2, "duas": 2, "tres": 3,
    "three": 3, "três": 3, "cuatro": 4, "four": 4, "quatro": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6,
}  # fmt: skip


def _bare_number(text: str) -> int | None:
    stripped = text.strip().lower()
    if stripped in _NUMBER_WORDS:
        return _NUMBER_WORDS[stripped]
    match = _BARE_NUMBER.match(stripped)
    return int(match.group(1)) if match else None


def only_social(ctx: TurnContext, intent: str) -> bool:
    """A greeting, thanks, yes or no and nothing else ("sí", "vale", "ok perfecto", "muchas gracias"): not a name nor a
    room, even where any short text would do. Both the classifier and the words must say so: "Gracia López" is read
    as thanks, but "lopez" is no social word."""
    if intent not in SOCIAL_INTENTS:
        return False
    words = re.findall(r"[^\W_]+", normalize(ctx.text))
    return bool(words) and all(word in social_words() for word in words)


def listed_choice(
    ctx: TurnContext, pending: dict[str, Any], intent: str, *, numbers: bool = False, by_name: bool = True
) -> str | None:
    """The code of the room the guest picked from the list the pending question showed (``listed``, in order, and
    ``cheapest`` / ``priciest``), by position ("la segunda", "the last one"; a bare "2" only with ``numbers``, where
    the question asked which room), by price ("la más barata", "me da igual") or, with ``by_name``, by a word of one
    room's name ("the family one"); ``None`` when the message does not pick one, or says dates or people instead."""
    listed = [code for code in pending.get("listed") or [] if isinstance(code, str)]
    entities = ctx.nlu.entities
    if not listed or any(key in entities for key in ("check_in", "check_out", "nights", "adults", "children")):
        return None
    if len(listed) == 1 and intent == AFFIRM:
        return listed[0]  # "sí" to the one room offered
    text = normalize(ctx.text)
    words = re.findall(r"[^\W_]+", text)
    if not words or len(words) > _LISTED_CHOICE_WORDS:
        return None
    if _PRICIEST.search(text):
        return pending.get("priciest") if pending.get("priciest") in listed else None
    if _CHEAPEST.search(text):
        return pending.get("cheapest") if pending.get("cheapest") in listed else None
    positions = {_ORDINAL_WORDS[word] for word in words if word in _ORDINAL_WORDS}
    number = _bare_number(ctx.text) if numbers else None
    if number is not None and len(words) <= 3:
        positions.add(number)
    if not positions:
        return _named_choice(words, pending, listed) if by_name else None
    if len(positions) != 1:
        return None
    (position,) = positions
    if position == -1:
        return listed[-1]
    return listed[position - 1] if 1 <= position <= len(listed) else None


def _named_choice(words: list[str], pending: dict[str, Any], listed: list[str]) -> str | None:
    """The listed room whose name alone has a word of the message ("the family one", "la de vistas al mar", "a
    superior"), a typo allowed in longer words; ``None`` when no word or words of several rooms are found."""
    names = pending.get("names") if isinstance(pending.get("names"), dict) else {}
    vocabulary = {
        code: {
            w for name in names.get(code, []) if isinstance(name, str) for w in re.findall(r"[^\W_]+", normalize(name))
        }
        for code in listed
    }
    picked: set[str] = set()
    for word in words:
        if len(word) < 4 or word in _NOT_A_ROOM_NAME:
            continue
        owners = {
            code
            for code, known in vocabulary.items()
            if word in known or (len(word) >= 5 and any(len(w) >= 5 and one_edit(word, w) for w in known))
        }
        if len(owners) == 1:
            picked |= owners
    return picked.pop() if len(picked) == 1 else None


def asks_cheaper(ctx: TurnContext, pending: dict[str, Any], intent: str) -> bool:
    """ "¿Algo más barato?" under a list of rooms (not "la más barata", which picks one)."""
    return (
        bool(pending.get("listed"))
        and listed_choice(ctx, pending, intent, by_name=False) is None  # "¿más barata que la suite?" still asks
        and len(normalize(ctx.text).split()) <= 8
        and bool(_CHEAPER.search(normalize(ctx.text)))
    )


def _slot_values(ctx: TurnContext, slot: str, pending: dict[str, Any], intent: str) -> dict[str, Any]:
    """What this message says for ``slot`` (empty when it says nothing for it)."""
    entities, text = ctx.nlu.entities, ctx.text.strip()
    choice = ctx.message.choice_id
    if slot == "dates":
        return {k: entities[k] for k in ("check_in", "check_out", "nights") if k in entities}
    if slot == "nights":
        if "check_out" in entities or "nights" in entities:
            return {k: entities[k] for k in ("check_out", "nights") if k in entities}
        number = _bare_number(text)
        return {"nights": number} if number else {}
    if slot == "adults":
        if "adults" in entities:
            return {k: entities[k] for k in ("adults", "children") if k in entities}
        number = _bare_number(text)
        return {"adults": number} if number else {}
    if slot == "room_type":
        if choice.startswith("room:"):
            return {"room_type": choice.removeprefix("room:")}
        if "room_type" in entities:
            return {"room_type": entities["room_type"]}
        picked = listed_choice(ctx, pending, intent, numbers=True)
        if picked:
            return {"room_type": picked}
        if only_social(ctx, intent):
            return {}
        return {"room_type": text} if 0 < len(text) <= 40 else {}
    if slot == "guest_name":
        if "guest_name" in entities:
            return {"guest_name": entities["guest_name"]}
        if only_social(ctx, intent):
            return {}
        return {"guest_name": text.title()} if _NAME.match(text) and len(text) <= 60 else {}
    if slot == "contact":
        return {k: entities[k] for k in ("email", "phone") if k in entities}
    if slot == "booking_ref":
        if "booking_ref" in entities:
            return {"booking_ref": entities["booking_ref"]}
        match = _REFERENCE.match(text)
        return {"booking_ref": match.group(1).upper()} if match and any(c.isdigit() for c in text) else {}
    return {}


def _with_entities(ctx: TurnContext, values: dict[str, Any]) -> TurnContext:
    merged = {**ctx.nlu.entities, **values}
    return dataclasses.replace(ctx, nlu=dataclasses.replace(ctx.nlu, entities=merged))


def _remembering(reply: Reply, values: dict[str, Any]) -> Reply:
    """``reply`` keeping the slot values this answer gave (the session only stores what the NLU extracted, and a
    bare "2" or a name is understood here, not there); the handler's own ``remember`` wins."""
    return dataclasses.replace(reply, remember={**values, **reply.remember})


# "No la tengo a mano", "I don't have it", "não sei o número": no reference to give (folded text).
_NO_REFERENCE = re.compile(
    r"\b(no la tengo|no lo tengo|no tengo (el|la|ningun|ninguna|numero|localizador|codigo)|no (lo|la) encuentro|"
    r"no me (acuerdo|lo se|la se)|no (lo|la) se|no se (cual|el|la)|lo he perdido|la he perdido|"
    r"(i )?(do not|dont|don't) have (it|one|the|my)|(i )?(can't|cant|cannot) find (it|the|my)|(i )?lost (it|the|my)|"
    r"(i )?(do not|dont|don't) (know|remember) (it|the|my)|no idea|"
    r"nao (tenho|sei|lembro|encontro)|perdi (o|a))\b"
)


def _collect(ctx: TurnContext, pending: dict[str, Any], intent: str) -> Reply | None:
    from conversations.agent.orchestrator import HANDLERS

    flow, slot = pending.get("for", ""), pending.get("slot", "")
    if slot == "booking_ref" and _NO_REFERENCE.search(normalize(ctx.text).replace("’", "'")):
        # Reception finds a booking by name and dates; "no" to the question must not drop the request.
        return Reply(
            text=_("No problem: reception can find your booking by your name. Shall I pass your request to them?"),
            language=ctx.language,
            options=yes_no_options(),
            pending={"action": "offer_staff", "reason": "booking_lookup"},
        )
    if slot == "room_type" and asks_cheaper(ctx, pending, intent):
        return booking.handle_cheaper(ctx, pending)
    values = _slot_values(ctx, slot, pending, intent)
    if values and flow in HANDLERS:
        return _remembering(HANDLERS[flow](_with_entities(ctx, values)), values)
    # Not the detail asked for, but another detail of the same request ("me llamo Ana" when asked for an e-mail,
    # "mejor 3 personas"): keep it and carry on with the request, which asks again for what is still missing.
    details = {k: v for k, v in ctx.nlu.entities.items() if k in FLOW_DETAILS and v not in (None, "")}
    if details and flow in HANDLERS and intent not in ESCAPE_INTENTS:
        return _remembering(HANDLERS[flow](ctx), details)
    if intent == DENY:
        return Reply(text=_("No problem. Is there anything else I can do for you?"), language=ctx.language)
    if flow in HANDLERS and (
        (intent == "out_of_scope" and ctx.nlu.confidence == 0.0) or (intent in (AFFIRM, "greeting", "thanks"))
    ):
        # Nothing readable ("y", "2" when asked for dates, "..."), or a "sí" / "ok" / "gracias" that gives nothing
        # asked for: the request asks again for what it is missing rather than leave the question for a "did you
        # mean…?" or a greeting that forgets the booking.
        return HANDLERS[flow](ctx)
    return None


def _yes_no(action: Callable[[TurnContext, dict[str, Any]], Reply], declined: str):
    def handler(ctx: TurnContext, pending: dict[str, Any], intent: str) -> Reply | None:
        if intent == AFFIRM and ctx.nlu.confidence < settings.NLU_CONFIRMATION_THRESHOLD:
            intent = UNSURE_YES_NO  # what books, cancels or changes takes a clear yes (a tap on "Yes" is 1.0)
        if intent == AFFIRM:
            return action(ctx, pending)
        if intent == DENY:
            return Reply(text=declined, language=ctx.language)
        if intent == UNSURE_YES_NO:  # ask again, the question still open
            return Reply(
                text=_("Sorry, I didn't get that. Please answer yes or no."),
                language=ctx.language,
                options=yes_no_options(),
                pending=dict(pending),
            )
        return None

    return handler


def _offer_booking(ctx: TurnContext, pending: dict[str, Any], intent: str) -> Reply | None:
    if asks_cheaper(ctx, pending, intent):
        return booking.handle_cheaper(ctx, pending)
    if ctx.message.kind == "interactive" or "room_type" in ctx.nlu.entities:
        room = _slot_values(ctx, "room_type", pending, intent)
    else:
        picked = listed_choice(ctx, pending, intent)  # "sí, la primera", "the cheapest"
        room = {"room_type": picked} if picked else {}
    if room or intent in (AFFIRM, "make_reservation"):
        return _remembering(booking.handle_make_reservation(_with_entities(ctx, room)), room)
    if intent == DENY:
        return Reply(text=_("No problem. Is there anything else I can do for you?"), language=ctx.language)
    if intent in _FOLLOW_UP_INTENTS and any(key in ctx.nlu.entities for key in _STAY_KEYS):
        return booking.handle_check_availability(ctx)  # "¿y para 3 personas?": the same question for another stay
    return None


PendingHandler = Callable[[TurnContext, dict[str, Any], str], "Reply | None"]

PENDING_HANDLERS: dict[str, PendingHandler] = {
    "collect": _collect,
    "offer_booking": _offer_booking,
    "confirm_booking": lambda ctx, p, i: _yes_no(
        booking.confirm_booking, _("All right, I haven't booked anything. Would you like other dates or another room?")
    )(ctx, p, i),
    "confirm_cancel": lambda ctx, p, i: _yes_no(manage.confirm_cancel, _("All right, your booking stays as it is."))(
        ctx, p, i
    ),
    "confirm_modify": lambda ctx, p, i: _yes_no(manage.confirm_modify, _("All right, your booking stays as it is."))(
        ctx, p, i
    ),
    "confirm_stay_request": lambda ctx, p, i: _yes_no(
        stay.confirm_stay_request, _("No problem. Anything else I can help with?")
    )(ctx, p, i),
    "offer_staff": lambda ctx, p, i: _yes_no(stay.offer_staff, _("No problem. Anything else I can help with?"))(
        ctx, p, i
    ),
}


def resolve_pending(ctx: TurnContext, intent: str, *, threshold: float) -> Reply | None:
    if intent in (AFFIRM, DENY) and ctx.nlu.confidence < threshold:
        intent = UNSURE_YES_NO  # "%" or an emoji the model leans towards "yes" on must not confirm a booking
    pending = ctx.session.pending or {}
    handler = PENDING_HANDLERS.get(pending.get("action", ""))
    return handler(ctx, pending, intent) if handler else None
