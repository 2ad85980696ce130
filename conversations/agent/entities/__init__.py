"""Deterministic entity extraction from a guest's message (es/en/pt, WhatsApp style).

``extract_entities`` returns only the keys it found, from: ``check_in``, ``check_out`` (``datetime.date``),
``nights``, ``adults``, ``children`` (``int``), ``room_type``, ``booking_ref``, ``email``, ``phone``,
``guest_name`` (``str``). Offline, stdlib only, all regexes compiled at import.

Order matters and is fixed: contact details and references first (so their digits are never dates or people),
then dates and nights, then noise (prices, times, ages, room numbers), then party size, room type and name.
Each step masks what it consumed in a working copy of the folded text. The rules of each entity are in the
docstring of its module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .dates import extract_dates
from .misc import extract_misc
from .names import extract_name
from .normalize import normalize
from .party import extract_party, mask_noise
from .rooms import extract_room_type

__all__ = ["extract_entities"]


def extract_entities(
    text: str,
    *,
    language: str,
    today: dt.date,
    room_types: Sequence[str] | None = None,
    check_in_hint: dt.date | None = None,
) -> dict[str, Any]:
    normalized = normalize(text or "")
    if not normalized.clean:
        return {}
    found: dict[str, Any] = {}
    misc, work = extract_misc(normalized, normalized.folded)
    dates, work = extract_dates(normalized.folded, work, language=language, today=today, check_in_hint=check_in_hint)
    found.update(dates)
    work = mask_noise(work)
    found.update(extract_party(work))
    room_type = extract_room_type(work, room_types)
    if room_type:
        found["room_type"] = room_type
    found.update(misc)
    name = extract_name(normalized, work, room_types)
    if name:
        found["guest_name"] = name
    return found
