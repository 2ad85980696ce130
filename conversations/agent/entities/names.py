"""Guest name after an introduction, a booking cue or as a signature.

Strong cues take the name as typed, lower case included ("me llamo ana garcía" → "Ana García"): "me llamo",
"mi nombre es", "a nombre de", "my name is", "name's", "the name is", "in the name of", "under the name (of)",
"meu nome é", "me chamo", "em nome de", "no nome de", "nombre:/name:/nome:", "el titular es/titular:",
"titular da reserva para/é", and changes of name: "change the name (on the booking) to", "cambiar el
titular/nombre a", "mudar/trocar o nome/titular para".

Booking cues need capitalised name-like words: en "under Nguyen", "booking under Fatima Al-Sayed", "book a room
for Ahmed Khan"/"reservation for ..." ("for" only after book/reserve/reservation/booking/room); es "la reserva
de Tomás Aguirre", "reserva para Lucía Fernández", "titular Jorge Ramírez"; pt "reserva de/para ...", "nome
Amanda Vieira". A title may come first ("reservation for Mr. John Smith").

Weak cues ("soy", "I'm", "I am", "this is", "sou", "eu sou") need capitalised words ("Soy Juan Pérez" but not
"soy de Madrid" or "I'm interested"); so do titles ("Mr. John Smith", "Mrs. Smith", returned without the title).

Last, a signature: two to four capitalised words that end the message after "?", ".", "!", "," or a line break
("Do you have a room this weekend? Carlos Mendes").

The name is one to four words (hyphens and apostrophes inside: "Al-Sayed", "O'Connor") and stops at
punctuation, digits, a line break, anything already taken as another entity (dates, references...) or a
connector/function word ("y", "and", "e", "para", "from", "quiero"...). "de/da/dos/van/von..." are kept inside a
name before a capitalised word ("María de la Cruz", "Beatriz dos Santos") after a strong or booking cue only
("Soy Ana de Madrid" is "Ana"). Weekdays, months, room and hotel words, number words, greetings and the tenant's
room type words are never a name; a city cannot start a name nor follow a particle ("reserva para Madrid").
Without a strong cue, a word in capitals ("ABCDE", a reference) is not a name, and nothing is read from a
message written all in capitals. An all-lower-case name is returned title-cased.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .namewords import NEVER, NOT_NAMES, PARTICLES, PLACES, STOP
from .normalize import MASK, Normalized, fold

_FOLDER = str.maketrans("áéíóúàèìòùâêîôûãõäëïöüçñ", "aeiouaeiouaeiouaoaeioucn")


def _fold_word(word: str) -> str:
    return word.lower().translate(_FOLDER)


_TITLE = r"(?:(?:mr|mrs|ms|miss|sr|sra|srta|senor|senora|dr|dra)\.?\s+)?"
_STRONG = re.compile(
    r"\b(?:me\s+llamo|mi\s+nombre\s+(?:completo\s+)?es|my\s+full\s+name\s+is|meu\s+nome\s+completo\s+e"
    r"|(?:a|al|en)\s+nombre\s+de|(?:my\s+|the\s+|full\s+)?name(?:\s+(?:on|of|for)\s+the\s+(?:booking|reservation))?"
    r"\s+is|(?:my\s+|the\s+)?name's|in\s+the\s+name\s+of|under\s+the\s+name(?:\s+of)?|meu\s+nome\s+e|me\s+chamo"
    r"|(?:em|no)\s+nome\s+de|(?:el\s+)?nombre\s+de\s+la\s+reserva\s+es|(?:o\s+)?nome\s+da\s+reserva\s+e"
    r"|(?:nombre|name|nome|titular)(?:\s+(?:y|e|and)\s+(?:apellidos?|sobrenome|surname|last\s+name))?"
    r"(?:\s+(?:de\s+la|da|on\s+the|for\s+the|of\s+the)\s+(?:reserva|booking|reservation))?\s*:"
    r"|titular(?:\s+(?:de\s+la|da)\s+reserva)?\s+(?:es|e|sera|para|pra)"
    r"|change\s+the\s+(?:guest\s+|booking\s+)?name(?:\s+(?:on|of|for)\s+(?:the|my)\s+(?:booking|reservation))?\s+to"
    r"|cambiar\s+el\s+(?:titular|nombre)(?:\s+de\s+la\s+reserva)?\s+a"
    r"|(?:mudar|trocar|alterar)\s+o\s+(?:titular|nome)(?:\s+da\s+reserva)?\s+(?:para|pra))\s*" + _TITLE
)
_CAPS = re.compile(
    r"\b(?:under|(?:book|booked|booking|reserve|reserved|reservation|room)(?:\s+[\w\x1f]+){0,3}?\s+for"
    r"|reserva\s+(?:de|para|pra)|titular(?:\s+(?:de\s+la|da)\s+reserva)?|nome(?:\s+e)?)\s+" + _TITLE
)
_WEAK = re.compile(
    r"\b(?:soy|i'm|i\s+am|im|this\s+is|eu\s+sou|sou|aqui\s+(?:es|e))\s+"
    r"|\b(?:mr|mrs|ms|miss|sr|sra|srta|senor|senora|dr|dra)\.?\s+"
)
_WORD = re.compile(r"[^\W\d_][^\W\d_'-]*(?:['-][^\W\d_]+)*")
_SIGNATURE_BREAKS = "?.!,\n"
_TRAILING = " .!\n"

STRONG, CAPS, WEAK = "strong", "caps", "weak"


def _particles_before_capital(clean: str, match: re.Match[str], blocked: frozenset[str]) -> list[str]:
    """Particles ("de la" in "María de la Cruz") followed by a capitalised name word, else nothing."""
    particles = [match.group()]
    while clean[match.end() : match.end() + 1] == " ":
        match = _WORD.match(clean, match.end() + 1)
        if not match:
            return []
        folded = _fold_word(match.group())
        if match.group()[0].isupper():
            return [] if folded in blocked or folded in PLACES or folded in NEVER else particles
        if folded not in PARTICLES:
            return []
        particles.append(match.group())
    return []


def _refused(word: str, folded: str, mode: str, first: bool, blocked: frozenset[str]) -> bool:
    if folded in STOP or folded in NEVER or folded in blocked or (first and folded in PLACES):
        return True
    if mode == STRONG:
        return False
    return not word[0].isupper() or folded in NOT_NAMES or (len(word) > 1 and word.isupper())


def _take_name(text: Normalized, work: str, start: int, mode: str, blocked: frozenset[str]) -> tuple[str, int] | None:
    """The name starting at ``start`` and where it ends in the text, or None."""
    words: list[str] = []
    position = start
    clean = text.clean
    while len(words) - sum(_fold_word(word) in PARTICLES for word in words[1:]) < 4:
        match = _WORD.match(clean, position)
        if not match or MASK in work[match.start() : match.end()]:
            break
        word = match.group()
        folded = _fold_word(word)
        if folded in PARTICLES and words:
            if mode == WEAK or not words[0][0].isupper():
                break
            particles = _particles_before_capital(clean, match, blocked)
            if not particles or len(words) + len(particles) >= 7:
                break
            words.extend(particles)
            position = match.start() + len(" ".join(particles)) + 1
            continue
        if _refused(word, folded, mode, not words, blocked):
            break
        if words and words[0][0].isupper() != word[0].isupper():
            break
        words.append(word)
        if clean[match.end() : match.end() + 1] != " ":
            break
        position = match.end() + 1
    while words and _fold_word(words[-1]) in PARTICLES:
        words.pop()
    if not words or (mode == STRONG and _fold_word(words[0]) in NOT_NAMES):
        return None
    name = " ".join(words)
    if name.islower():
        name = " ".join(w if w in PARTICLES else w[:1].upper() + w[1:] for w in words)
    return name, start + len(" ".join(words))


def _signature(text: Normalized, work: str, blocked: frozenset[str]) -> str | None:
    """Two to four capitalised words closing the message after a sentence: "... this weekend? Carlos Mendes"."""
    clean = text.clean
    end = len(clean.rstrip(_TRAILING))
    cut = max(clean.rfind(char, 0, end) for char in _SIGNATURE_BREAKS)
    if cut < 2 or not any(char.isalpha() for char in clean[:cut]):
        return None
    start = cut + 1
    while start < end and clean[start] in " -":
        start += 1
    taken = _take_name(text, work, start, CAPS, blocked)
    if taken and taken[1] == end and " " in taken[0]:
        return taken[0]
    return None


@lru_cache(maxsize=256)
def _room_words(room_types: tuple[str, ...]) -> frozenset[str]:
    return frozenset(word for room in room_types for word in fold(room).split())


def extract_name(text: Normalized, work: str, room_types: Iterable[str] | None = None) -> str | None:
    blocked = _room_words(tuple(room_types)) if room_types else frozenset()
    shouting = text.clean.isupper()
    for pattern, mode in ((_STRONG, STRONG), (_CAPS, CAPS), (_WEAK, WEAK)):
        if mode != STRONG and shouting:
            break
        for match in pattern.finditer(work):
            taken = _take_name(text, work, match.end(), mode, blocked)
            if taken:
                return taken[0]
    return None if shouting else _signature(text, work, blocked)
