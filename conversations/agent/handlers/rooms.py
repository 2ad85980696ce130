"""The hotel's room types as the guest names them: display name and capacity, a kind ("doble") or a name matched
to the hotel's rooms, and the one room of a kind that the guest's other words point to."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import ngettext

from conversations.agent.nlu.text import normalize
from pms.base import RoomType


def room_name(room: RoomType, language: str) -> str:
    return room.names.get(language) or room.name


def room_capacity(room: RoomType) -> str:
    """ "up to 3 guests (2 adults at most)": a double that sleeps three only with a child must not read as a room
    for three adults, which the availability answer will not offer."""
    text = ngettext("up to %(guests)d guest", "up to %(guests)d guests", room.max_occupancy) % {
        "guests": room.max_occupancy
    }
    if 0 < room.max_adults < room.max_occupancy:
        adults = ngettext("(%(adults)d adult at most)", "(%(adults)d adults at most)", room.max_adults) % {
            "adults": room.max_adults
        }
        text = f"{text} {adults}"
    return text


# The entity extractor names room types with these keys; hotels name them in their own words and languages.
ROOM_KEY_WORDS = {
    "individual": ("individual", "single", "solteiro", "sencilla"),
    "doble": ("doble", "double", "duplo", "casal", "matrimonio"),
    "twin": ("twin",),
    "triple": ("triple", "triplo"),
    "familiar": ("familiar", "family", "familia"),
    "suite": ("suite", "suíte"),
}


def rooms_matching(rooms: list[RoomType], wanted: Any) -> list[RoomType]:
    """The hotel's room types the guest's words point to (a code or name, or a generic key such as "doble")."""
    if not wanted:
        return []
    wanted_text = str(wanted).lower()
    words = ROOM_KEY_WORDS.get(wanted_text, (wanted_text,))
    matches = []
    for room in rooms:
        names = {room.code.lower(), room.name.lower(), *(n.lower() for n in room.names.values())}
        if wanted_text in names:
            return [room]  # an exact code or name
        if any(word in name for word in words for name in names):
            matches.append(room)
    return matches


# Words of room names that say which room of a kind it is ("superior", "estándar", "vistas", "mar"), not the kind
# itself or the grammar around it.
_NAME_GRAMMAR = frozenset(
    {"de", "del", "la", "el", "con", "with", "the", "com", "a", "o", "al", "do", "da", "room", "habitacion", "quarto",
     "cuarto", "e", "y", "and", "en", "em", "in"}
)  # fmt: skip
_NAME_WORDS = re.compile(r"[a-z0-9]+")


def room_from_words(rooms: list[RoomType], wanted: Any, text: str) -> RoomType | None:
    """The one room of the kind asked for ("doble") that the guest's other words name ("la doble superior", "a
    double with sea view"); ``None`` when the kind is one room anyway, or the words tell none or several apart.
    The entity extractor only knows kinds, so without this "la doble superior" became the first double."""
    matches = rooms_matching(rooms, wanted)
    if len(matches) < 2:
        return None
    kind_words = {word for words in ROOM_KEY_WORDS.values() for word in words}
    said = set(_NAME_WORDS.findall(normalize(text)))
    scored = []
    for room in matches:
        names = {room.name, *room.names.values()}
        words = {w for n in names for w in _NAME_WORDS.findall(normalize(n))} - kind_words - _NAME_GRAMMAR
        scored.append((sum(1 for w in words if w in said), room))
    scored.sort(key=lambda pair: -pair[0])
    if scored[0][0] > 0 and scored[1][0] < scored[0][0]:
        return scored[0][1]
    return None


def room_for(rooms: list[RoomType], wanted: Any) -> RoomType | None:
    matches = rooms_matching(rooms, wanted)
    return matches[0] if matches else None
