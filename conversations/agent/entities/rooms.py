"""Room type: a normalized key, or the tenant's own room type name when one matches clearly.

Keys and the words behind them (es/en/pt, folded):

- ``individual``: individual, single, sencilla, solteiro, "habitación simple";
- ``doble``: doble, double, dbl, matrimonial, "cama de matrimonio", "king/queen (size) bed", "quarto de
  casal", duplo;
- ``twin``: twin, "dos camas", "two beds", "camas separadas", "duas camas (de solteiro)";
- ``triple``: triple, triplo; ``suite``: suite, "junior suite", "la suit"; ``familiar``: familiar,
  "family room", "quarto família".

Typos one edit away from the main words ("dobel", "sencila", "famliar") are accepted. With ``room_types``
(the hotel's names, e.g. ["Doble Superior", "Suite Junior", "Familiar"]) every name is scored on the share of
its words found in the text: words that are themselves a key (doble, suite...) count when the text asks for
that key; the other words ("superior", "junior") count when present, allowing typos (difflib ratio ≥ 0.8).
The best name wins if it scores at least 0.5 and no other name ties; otherwise the key is returned.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from functools import lru_cache

from .normalize import fold

_GENERIC: list[tuple[str, re.Pattern[str]]] = [
    (
        "twin",
        re.compile(
            r"\b(?:twin(?:\s+beds?|\s+room)?|(?:dos|2|two|duas)\s+camas(?:\s+(?:separadas|individuales|de\s+solteiro))?"
            r"|camas\s+(?:separadas|individuales|de\s+solteiro)|(?:two|2)\s+(?:single\s+)?beds|separate\s+beds)\b"
        ),
    ),
    ("suite", re.compile(r"\b(?:junior\s+suite|suite\s+junior|suites?)\b|\b(?:la|una|a|the|uma|en\s+la)\s+suit\b")),
    (
        "familiar",
        re.compile(
            r"\b(?:family\s+(?:room|suite)|(?:habitacion|cuarto|quarto|room|suite)\s+(?:de\s+)?famil(?:ia|iar|y)"
            r"|(?<!ambiente\s)(?<!trato\s)(?<!motivo\s)(?<!motivos\s)(?<!asunto\s)(?<!problema\s)(?<!reunion\s)"
            r"(?<!evento\s)(?<!plan\s)(?<!hotel\s)(?<!emergencia\s)familiar(?:es)?(?!\s+(?:with|con|com)\b))\b"
        ),
    ),
    ("triple", re.compile(r"\b(?:triple|triplo|tripla)s?\b")),
    (
        "doble",
        re.compile(
            r"\b(?:dobles?|doubles?(?![\s-]+check)|dbl|matrimonial(?:es)?|(?:cama|habitacion|cuarto)\s+de\s+matrimonio"
            r"|(?:king|queen)(?=[\s-]*(?:size|bed|room|cama))|(?:quarto|cama|suite)\s+(?:de\s+)?casal|de\s+casal"
            r"|duplo|dupla)\b"
        ),
    ),
    (
        "individual",
        re.compile(
            r"\b(?:individual(?:es)?|single(?!\s+(?:night|day|person|people|time|question|trip))|sencilla|solteiro"
            r"|(?:habitacion|cuarto|hab|room|quarto)\s+simple)\b"
        ),
    ),
]
# Typo targets (≥ 5 letters) and words one edit away from them that mean something else.
_TYPO_TARGETS = {
    "doble": "doble",
    "double": "doble",
    "matrimonial": "doble",
    "individual": "individual",
    "sencilla": "individual",
    "single": "individual",
    "triple": "triple",
    "suite": "suite",
    "familiar": "familiar",
}
_NOT_TYPOS = frozenset({"suit", "suits", "quite", "familia", "family", "soltero", "soltera", "dobla", "singe"})
# Words inside a tenant's room type names that point at a key.
_KEY_WORDS = {
    **dict.fromkeys(("doble", "dobles", "double", "dbl", "matrimonial", "king", "queen", "casal", "duplo"), "doble"),
    **dict.fromkeys(("individual", "single", "sencilla", "simple", "solteiro"), "individual"),
    **dict.fromkeys(("twin",), "twin"),
    **dict.fromkeys(("triple", "triplo", "tripla"), "triple"),
    **dict.fromkeys(("suite", "suites"), "suite"),
    **dict.fromkeys(("familiar", "family", "familia"), "familiar"),
}
_FILLER = frozenset(
    {"de", "del", "la", "el", "con", "with", "the", "room", "habitacion", "quarto", "cuarto", "hab", "com", "e", "y"}
    | {"and", "da", "do", "a", "o", "en", "in", "em"}
)
_TOKENS = re.compile(r"[a-z0-9]+")


def one_edit(a: str, b: str) -> bool:
    """Damerau–Levenshtein distance ≤ 1 (one insertion, deletion, substitution or adjacent swap)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :] or (a[i + 2 :] == b[i + 2 :] and a[i : i + 2] == b[i : i + 2][::-1])
    return a[i + 1 :] == b[i:] if len(a) > len(b) else a[i:] == b[i + 1 :]


def _generic_key(work: str) -> str | None:
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for key, pattern in _GENERIC:
        for match in pattern.finditer(work):
            start, end = match.span()
            if all(end <= s or start >= e for s, e in taken):
                found.append((start, key))
                taken.append((start, end))
    if found:
        return min(found)[1]
    for match in _TOKENS.finditer(work):
        token = match.group()
        if len(token) < 4 or token in _NOT_TYPOS or token in _KEY_WORDS:
            continue
        for target, key in _TYPO_TARGETS.items():
            if token[0] == target[0] and one_edit(token, target):
                return key
    return None


@lru_cache(maxsize=512)
def _tenant_names(room_types: tuple[str, ...]) -> tuple[tuple[str, frozenset[str], int, tuple[str, ...]], ...]:
    """(name, keys, number of key words, descriptive words) for each tenant room type name."""
    index = []
    for name in room_types:
        tokens = [token for token in _TOKENS.findall(fold(name)) if token not in _FILLER]
        keys = [_KEY_WORDS[token] for token in tokens if token in _KEY_WORDS]
        descriptive = tuple(token for token in tokens if token not in _KEY_WORDS)
        if tokens:
            index.append((name, frozenset(keys), len(keys), descriptive))
    return tuple(index)


def _present(word: str, tokens: set[str]) -> bool:
    if word in tokens:
        return True
    if len(word) < 4:
        return False
    return any(
        token[0] == word[0] and abs(len(token) - len(word)) <= 2 and _similar(token, word)
        for token in tokens
        if len(token) >= 4
    )


@lru_cache(maxsize=4096)
def _similar(a: str, b: str) -> bool:
    matcher = difflib.SequenceMatcher(None, a, b)
    return matcher.quick_ratio() >= 0.8 and matcher.ratio() >= 0.8


_TYPO_BY_LETTER: dict[str, list[str]] = {}
for _word in _KEY_WORDS:
    if len(_word) >= 5:
        _TYPO_BY_LETTER.setdefault(_word[0], []).append(_word)


def _typo_keys(tokens: set[str]) -> set[str]:
    """Keys of tenant key words typed with a typo that the generic patterns do not take ("suit")."""
    return {
        _KEY_WORDS[target]
        for token in tokens
        if len(token) >= 4 and token not in _KEY_WORDS
        for target in _TYPO_BY_LETTER.get(token[0], ())
        if one_edit(token, target)
    }


def extract_room_type(work: str, room_types: Sequence[str] | None = None) -> str | None:
    key = _generic_key(work)
    if not room_types:
        return key
    tokens = {token for token in _TOKENS.findall(work) if len(token) >= 3 and token not in _FILLER}
    typo_keys = _typo_keys(tokens) if key is None else set()
    scores: list[tuple[float, str]] = []
    described: list[tuple[int, str]] = []  # (descriptive words found, name) of names the key does not contradict
    kind_names = 0  # names of the kind asked for ("doble")
    for name, keys, key_count, descriptive in _tenant_names(tuple(room_types)):
        key_hit = key in keys if key else bool(keys & typo_keys)
        found = sum(_present(word, tokens) for word in descriptive)
        matched = (key_count if key_hit else 0) + found
        scores.append((matched / (key_count + len(descriptive)), name))
        if found and (key_hit or not key):
            described.append((found, name))
        kind_names += key_hit
    # A word only one name has decides first: "la doble superior" is the "Doble Superior con vistas al mar" (2 of its
    # 5 words) even though "Doble Estándar" has half of its words in the text (the key word alone).
    described.sort(reverse=True)
    if described and (len(described) == 1 or described[1][0] < described[0][0]):
        return described[0][1]
    if kind_names > 1:
        return key  # "una doble" and two doubles, no word telling them apart: the kind, not a guess
    scores.sort(reverse=True)
    if scores and scores[0][0] >= 0.5 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        return scores[0][1]
    return key
