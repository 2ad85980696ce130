"""Text normalization shared by training and inference (they must see the same thing)."""

from __future__ import annotations

import re
import unicodedata

_EMOJI_WORDS = {
    "👍": " ok ",
    "👌": " ok ",
    "🙏": " thanks ",
    "❤": " thanks ",
    "😡": " angry ",
    "🤬": " angry ",
    "😠": " angry ",
    "👋": " hi ",
}
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"(.)\1{2,}")  # "holaaaa" → "holaa", "!!!!" → "!!"


def fold(text: str) -> str:
    """Lowercase and strip accents (``ñ`` → ``n``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    for emoji, word in _EMOJI_WORDS.items():
        if emoji in text:
            text = text.replace(emoji, word)
    text = "".join(ch if unicodedata.category(ch)[0] != "S" or ch in "+#@$€" else " " for ch in text)
    text = _REPEATS.sub(r"\1\1", fold(text))
    return _SPACES.sub(" ", text).strip()


def lowered(text: str) -> str:
    """Lowercase with accents kept (for language identification)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text.lower())).strip()
