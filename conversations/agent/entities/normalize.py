"""Text normalization shared by the entity extractors.

``normalize`` returns three strings of the SAME length, so an offset found in one is valid in the others:

- ``clean``: the guest's text with emojis/pictographs replaced by spaces, typographic dashes and quotes made
  ASCII, runs of spaces collapsed (newlines kept as single ``\\n``). Names, e-mails and references are sliced from
  here, with the guest's own casing.
- ``lower``: ``clean`` lower-cased.
- ``folded``: ``lower`` without accents (``mañana`` → ``manana``, ``março`` → ``marco``, ``1º`` → ``1o``). All
  matching happens here.

Extractors consume what they recognise by overwriting it in a working copy of ``folded`` with ``MASK``, so a
date's numbers are never read again as people, a phone number never as a booking reference, and so on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

MASK = "\x00"

_PUNCT = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
        "\u2019": "'",
        "\u2018": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u00b0": "\u00ba",  # "1°" typed with a degree sign is an ordinal
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\t": " ",
        "\r": "\n",
        MASK: " ",
    }
)
# Zero-width joiners, variation selectors and the keycap mark that hang around emojis.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f\u20e3")
_SYMBOL_CATEGORIES = frozenset({"So", "Cs", "Co", "Cn"})
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r" ?\n\s*")


def _fold_char(char: str) -> str:
    for part in unicodedata.normalize("NFKD", char):
        if not unicodedata.combining(part):
            return part if part.isalpha() else char
    return char


# Letter → letter without accents, one character for one character (so offsets survive): Latin-1, Latin
# Extended-A/B and Latin Extended Additional. ``str.translate`` then does the folding in C.
_FOLD = {
    code: folded
    for block in (range(0x80, 0x250), range(0x1E00, 0x1F00))
    for code in block
    if chr(code).isalpha() and (folded := _fold_char(chr(code))) != chr(code)
}


@dataclass(frozen=True, slots=True)
class Normalized:
    clean: str
    lower: str
    folded: str


def _strip_symbols(text: str) -> str:
    out = []
    for char in text:
        if (
            char in _INVISIBLE
            or unicodedata.category(char) in _SYMBOL_CATEGORIES
            or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin-tone modifiers
        ):
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def normalize(text: str) -> Normalized:
    text = text.translate(_PUNCT)
    if not text.isascii():
        text = _strip_symbols(unicodedata.normalize("NFC", text))
    clean = _NEWLINES.sub("\n", _SPACES.sub(" ", text)).strip()
    lower = clean.lower()
    if len(lower) != len(clean):  # a few characters lower-case to two ("İ"): keep one
        lower = "".join(char.lower()[0] for char in clean)
    return Normalized(clean=clean, lower=lower, folded=lower.translate(_FOLD))


def fold(text: str) -> str:
    """Lower-case, accent-free form of a short string (room type names, vocabulary)."""
    return normalize(text).folded


def mask(text: str, spans: Collection[tuple[int, int]]) -> str:
    """``text`` with every ``(start, end)`` span overwritten by ``MASK`` (same length)."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = MASK * (end - start)
    return "".join(chars)
