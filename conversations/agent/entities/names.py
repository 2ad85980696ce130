"""Guest name after an introduction.

Strong cues take the name as typed, lower case included ("me llamo ana garcía" → "Ana García"): "me llamo",
"mi nombre es", "a nombre de", "my name is", "in the name of", "under the name", "meu nome é", "me chamo",
"em nome de", "nombre:/name:/nome:". Weak cues ("soy", "I'm", "I am", "this is", "sou", "eu sou") need
capitalised words ("Soy Juan Pérez" but not "soy de Madrid" or "I'm interested"); so do titles ("Mr. John Smith",
"Sra. López", returned without the title).
The name is one to four words and stops at punctuation, digits, a line break or a connector/function word
("y", "and", "e", "para", "from", "quiero"...); "de/da/van..." are kept inside a name before a capitalised word
("María de la Cruz") after a strong cue only ("Soy Ana de Madrid" is "Ana"). An all-lower-case name is returned
title-cased.
"""

from __future__ import annotations

import re

from .normalize import MASK, Normalized

_STRONG = re.compile(
    r"\b(?:me\s+llamo|mi\s+nombre\s+(?:completo\s+)?es|my\s+full\s+name\s+is|meu\s+nome\s+completo\s+e|a\s+nombre\s+de|al\s+nombre\s+de|en\s+nombre\s+de|my\s+name\s+is"
    r"|my\s+name's|in\s+the\s+name\s+of|under\s+the\s+name(?:\s+of)?|meu\s+nome\s+e|me\s+chamo|em\s+nome\s+de"
    r"|no\s+nome\s+de|(?:nombre|name|nome)\s*:)\s*"
)
_WEAK = re.compile(
    r"\b(?:soy|i'm|i\s+am|im|this\s+is|eu\s+sou|sou|aqui\s+(?:es|e))\s+"
    r"|\b(?:mr|mrs|ms|miss|sr|sra|srta|senor|senora|dr|dra)\.?\s+"
)
_WORD = re.compile(r"[^\W\d_][^\W\d_'-]*(?:['-][^\W\d_]+)*")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PARTICLES = frozenset({"de", "del", "la", "las", "los", "da", "das", "do", "dos", "van", "von", "di", "du", "le"})
_STOP = _words(
    """y and e para for pra con with com que i from desde quiero queria quisiera want would wanted need necesito
    gostaria preciso tengo have tenho estoy am is es sou soy of the el la los las o a os as un una um uma an aqui
    here there reservation reserva booking gracias thanks thank obrigado obrigada hola hello hi oi ola por favor
    please tambien also tambem mi my meu minha en in em no na at hasta to ok okay vale bueno good bien fine
    porque because pero but mas more muito very reservar book booked reserve llegar arrive chegar y/o"""
)
_NOT_NAMES = _words(
    """spanish english american brazilian mexican argentinian argentine french german italian portuguese
    canadian british espanol espanola argentino argentina mexicano mexicana brasileiro brasileira brasileno
    brasilena new back interested looking sorry happy glad not so very just going traveling travelling staying
    arriving calling writing your guest client cliente huesped hospede el la yo eu from the a an senor senora
    mr mrs ms miss sr sra dr great amazing perfect fine good ok okay awesome excellent wonderful terrible bad ready
    available correct right wrong urgent important colombiano colombiana chileno chilena peruano peruana uruguayo
    uruguaya venezolano venezolana cubano cubana ingles inglesa frances francesa aleman alemana italiano italiana
    portugues portuguesa americano americana estadounidense canadiense paraguayo paraguaya boliviano boliviana
    ecuatoriano ecuatoriana colombian chilean peruvian venezuelan cuban dutch irish scottish australian chinese
    japanese"""
)


def _fold_word(word: str) -> str:
    return word.lower().translate(_FOLDER)


_FOLDER = str.maketrans("áéíóúàèìòùâêîôûãõäëïöüçñ", "aeiouaeiouaeiouaoaeioucn")


def _particles_before_capital(clean: str, match: re.Match[str]) -> list[str]:
    """Particles ("de la" in "María de la Cruz") followed by a capitalised word, else nothing."""
    particles = [match.group()]
    while clean[match.end() : match.end() + 1] == " ":
        match = _WORD.match(clean, match.end() + 1)
        if not match:
            return []
        if match.group()[0].isupper():
            return particles
        if _fold_word(match.group()) not in _PARTICLES:
            return []
        particles.append(match.group())
    return []


def _take_name(text: Normalized, work: str, start: int, *, strong: bool) -> str | None:
    words: list[str] = []
    position = start
    clean = text.clean
    while len(words) < 4:
        match = _WORD.match(clean, position)
        if not match or MASK in work[match.start() : match.end()]:
            break
        word = match.group()
        folded = _fold_word(word)
        capital = word[0].isupper()
        if folded in _PARTICLES and words:
            particles = _particles_before_capital(clean, match)
            if not strong or not particles or not words[0][0].isupper() or len(words) + len(particles) >= 6:
                break
            words.extend(particles)
            position = match.start() + len(" ".join(particles)) + 1
            continue
        if folded in _STOP or (not strong and (not capital or folded in _NOT_NAMES)):
            break
        if words and words[0][0].isupper() != capital:
            break
        words.append(word)
        if clean[match.end() : match.end() + 1] != " ":
            break
        position = match.end() + 1
    while words and _fold_word(words[-1]) in _PARTICLES:
        words.pop()
    if not words or (strong and _fold_word(words[0]) in _NOT_NAMES):
        return None
    name = " ".join(words)
    if name.islower():
        name = " ".join(w if w in _PARTICLES else w[:1].upper() + w[1:] for w in words)
    return name


def extract_name(text: Normalized, work: str) -> str | None:
    for pattern, strong in ((_STRONG, True), (_WEAK, False)):
        for match in pattern.finditer(work):
            name = _take_name(text, work, match.end(), strong=strong)
            if name:
                return name
    return None
