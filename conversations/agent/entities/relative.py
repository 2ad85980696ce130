"""Relative dates ("mañana", "el próximo lunes", "this weekend", "daqui a 2 dias") and stay lengths ("3 noches").

Rules (today = the ``today`` argument):

- hoy/today/hoje/tonight → today; mañana/tomorrow/amanhã → +1 ("la mañana", "esta mañana" are mornings and
  "hasta mañana"/"see you tomorrow"/"até amanhã" are farewells: ignored); pasado mañana/day after
  tomorrow/depois de amanhã → +2; en/in/daqui a/em N días|semanas → +N days|weeks.
- Weekdays: "el viernes", "on friday", "na sexta", "el próximo lunes", "next monday", "segunda que vem" → the
  next such day after today (a week ahead if today is that day); "este/this/nesta <today's weekday>" → today.
  "el martes de la semana que viene"/"next week tuesday" → that day of next week. Portuguese "segunda",
  "quarta", "quinta" are also ordinals, so they need "-feira", a cue ("na", "nesta", "próxima"...) or "que vem".
- "la semana que viene"/"next week"/"semana que vem" → Monday of next week, no check-out.
- Weekend ("el finde", "este fin de semana", "this weekend", "fim de semana", "fds"): Monday–Thursday → the
  coming Friday to Sunday (2 nights); Friday → today to Sunday; Saturday → today to Sunday (1 night); Sunday →
  next Friday to Sunday. "next weekend"/"el próximo finde"/"o fds que vem" is the same on Monday–Thursday and
  the following Friday–Sunday from Friday to Sunday.
- Nights: "3 noches", "por tres noches", "one night", "duas noites", "3 diárias", "un par de noches" (2), and weeks
  "una semana"/"a week"/"uma semana" (7 nights), "dos semanas" (14).
"""

from __future__ import annotations

import datetime as dt
import re

from .atoms import Atom
from .lexicon import (
    AMBIGUOUS_WEEKDAYS,
    DAY_DIGITS,
    MONTHS,
    NOT_UNIT,
    NUM,
    PORTUGUESE_ONLY_WEEKDAYS,
    QTY,
    WEEKDAYS,
    alternation,
    number_value,
)
from .normalize import MASK, mask

_FAREWELL = re.compile(r"\b(?:hasta\s+manana|see\s+you\s+tomorrow|ate\s+amanha|nos\s+vemos\s+manana)\b")
_TODAY = re.compile(
    r"\b(?:hoy\s+a\s+la\s+noche|hoje\s+a\s+noite|esta\s+noche|esta\s+noite|tonight|hoy|today|hoje|hj)\b(?!')"
)
_DAY_AFTER = re.compile(
    r"\b(?:pasado\s+man+ana|pasado\s+mnn|(?:the\s+)?day\s+after\s+tomorrow|depois\s+de\s+amanha|depois\s+d'amanha)\b"
)
_TOMORROW = re.compile(
    r"(?<!\bla\s)(?<!\blas\s)(?<!\besta\s)(?<!\bcada\s)(?<!\bmedia\s)"
    r"\b(?:manana|mnn|mnana|tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr|2morrow|2moro|amanha)\b"
)
_IN_N = re.compile(
    rf"\b(?:en|in|dentro\s+de|daqui\s+a|daqui|em|within)\s+(?P<n>{QTY})\s+(?P<unit>dias?|days?|semanas?|weeks?)\b"
)
_NEXT_WORDS = re.compile(r"\b(?:next|proxim[oa]|que\s+viene|que\s+vem)\b")
_THIS_WORDS = frozenset({"este", "esta", "this", "nesta", "nessa", "neste", "nesse", "essa", "esse"})
_NEXT_WEEK = re.compile(
    r"\b(?:(?:la|a|na)\s+)?(?:semana\s+que\s+viene|proxima\s+semana|semana\s+proxima|next\s+week|semana\s+que\s+vem"
    r"|semana\s+que\s+entra|semana\s+entrante)\b"
)
_WEEKEND = re.compile(
    r"\b(?:(?:el|o|no|the|this|este|esta|neste|nesse|next|proximo|coming|that)\s+){0,2}"
    r"(?:fin(?:de)?\s+de\s+semana|finde|fin\s+de\s+semana|week-?end|wknd|fim\s+de\s+semana|fds)"
    r"(?:\s+(?:que\s+viene|que\s+vem|proximo))?\b"
)
_MONTH_NAMES = alternation(MONTHS)
_WEEKDAY = re.compile(
    r"\b(?P<pre>(?:(?:el|la|on|this|este|esta|nesta|nessa|neste|nesse|essa|esse|na|no|o|a|next|proximo|proxima"
    r"|coming)\s+){0,3})"
    rf"(?P<wd>{alternation(WEEKDAYS)})(?P<feira>s?[\s-]*feira)?\b"
    r"(?P<post>\s+(?:que\s+viene|que\s+vem|proxim[oa]|de\s+la\s+semana\s+que\s+viene|de\s+la\s+proxima\s+semana"
    r"|da\s+semana\s+que\s+vem|da\s+proxima\s+semana|of\s+next\s+week|next\s+week))?"
    rf"(?:,?\s+(?:el\s+|the\s+|dia\s+)?(?P<dom>{DAY_DIGITS})(?:st|nd|rd|th|o)?\b"
    rf"(?!\s*(?:(?:de\s+|of\s+|d\s+)?(?:{_MONTH_NAMES})\b|[/.-]\s*\d)){NOT_UNIT})?"
)
_RECURRING = re.compile(r"\b(?:los|todos|every|cada|aos|todas|as|nas)\s+$")
_AMBIGUOUS_CUES = frozenset({"na", "nesta", "nessa", "esta", "essa", "proxima", "proximo", "no", "neste"})
_AMBIGUOUS_BEFORE = re.compile(r"\b(?:ate|desde|de|da)\s+$")

_NIGHT_WORDS = r"(?:noches?|nights?|noites?|nites?|nts|nochecitas?|diarias?)"
_NIGHTS = re.compile(
    rf"(?:\b(?:por|for|durante|during|para|pra|x)\s+)?(?:(?P<n>{NUM}|\b(?:un|una|um|uma)\b)\s*"
    rf"(?:(?:more|extra|additional|mas)\s+)?{_NIGHT_WORDS}\b"
    rf"|\b(?P<one>an?)\s+(?:single\s+)?night\b"
    rf"|\b(?P<pair>un\s+par\s+de|a\s+couple\s+of|um\s+par\s+de|a\s+couple)\s+{_NIGHT_WORDS}\b)"
)
_NIGHT_HINT = re.compile(r"noch|night|noit|nite|nts|diari")
_WEEK_HINT = re.compile(r"seman|week")
_WEEKS = re.compile(
    rf"(?:\b(?:por|for|durante|during|para|pra)\s+)?(?:(?P<n>{NUM}|\b(?:una|uma)\b)\s+(?:semanas?|weeks?)"
    r"|\b(?P<one>an?)\s+week)\b(?!\s+(?:que\s+viene|que\s+vem|ago|antes|atras|pasada|passada))"
)


def _day_on_weekday(day: int, weekday: int, today: dt.date) -> dt.date | None:
    first = None
    year, month = today.year, today.month
    for _ in range(12):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            candidate = None
        if candidate and candidate >= today:
            if candidate.weekday() == weekday:
                return candidate
            first = first or candidate
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return first


def _monday_next_week(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=7 - today.weekday())


def weekend(today: dt.date, *, following: bool) -> tuple[dt.date, dt.date]:
    weekday = today.weekday()
    if weekday <= 3:
        friday = today + dt.timedelta(days=4 - weekday)
        return friday, friday + dt.timedelta(days=2)
    if weekday == 6 or following:
        friday = today + dt.timedelta(days=(4 - weekday) % 7 or 7)
        return friday, friday + dt.timedelta(days=2)
    return today, today + dt.timedelta(days=6 - weekday)


def find_relative(work: str, *, language: str, today: dt.date) -> tuple[list[Atom], str]:
    """Relative date atoms in ``work`` (folded text) and ``work`` with them masked."""
    atoms: list[Atom] = []
    spans: list[tuple[int, int]] = []
    work = mask(work, [m.span() for m in _FAREWELL.finditer(work)])

    for match in _WEEKEND.finditer(work):
        start, end = weekend(today, following=bool(_NEXT_WORDS.search(match.group())))
        atoms.append(Atom(*match.span(), date=start, end_date=end, kind="weekend"))
        spans.append(match.span())
    work = mask(work, spans)

    for pattern, days in ((_DAY_AFTER, 2), (_TODAY, 0), (_TOMORROW, 1)):
        for match in pattern.finditer(work):
            atoms.append(Atom(*match.span(), date=today + dt.timedelta(days=days), kind="rel"))
            spans.append(match.span())
        work = mask(work, spans)

    for match in _IN_N.finditer(work):
        count = number_value(match.group("n")) or 0
        days = count * 7 if match.group("unit").startswith(("sem", "week")) else count
        atoms.append(Atom(*match.span(), date=today + dt.timedelta(days=days), kind="rel"))
        spans.append(match.span())
    work = mask(work, spans)

    for match in _WEEKDAY.finditer(work):
        name = match.group("wd")
        pre_words = match.group("pre").split()
        if name in PORTUGUESE_ONLY_WEEKDAYS and language != "pt" and not match.group("feira"):
            continue
        if (
            name in AMBIGUOUS_WEEKDAYS
            and not match.group("feira")
            and not match.group("post")
            and not _AMBIGUOUS_CUES.intersection(pre_words)
            and not _AMBIGUOUS_BEFORE.search(work, max(0, match.start() - 8), match.start())
        ):
            continue
        if not pre_words and _RECURRING.search(work, max(0, match.start() - 8), match.start()):
            continue
        post = match.group("post") or ""
        if match.group("dom"):  # "el lunes 16": the 16th, the next one that is a Monday if there is one soon
            date = _day_on_weekday(int(match.group("dom")), WEEKDAYS[name], today)
            if date is not None:
                atoms.append(Atom(*match.span(), date=date, kind="rel"))
                spans.append(match.span())
            continue
        if "semana" in post or "week" in post:
            date = _monday_next_week(today) + dt.timedelta(days=WEEKDAYS[name])
            atoms.append(Atom(*match.span(), date=date, kind="rel"))
        else:
            this = bool(_THIS_WORDS.intersection(pre_words))
            atoms.append(Atom(*match.span(), weekday=WEEKDAYS[name], this=this, kind="weekday"))
        spans.append(match.span())
    work = mask(work, spans)

    for match in _NEXT_WEEK.finditer(work):
        atoms.append(Atom(*match.span(), date=_monday_next_week(today), kind="next_week"))
        spans.append(match.span())
    return _merge_next_week(atoms, work, today), mask(work, spans)


_GLUE = re.compile(r"[\s,]*(?:(?:el|on|the|o|na|no|a|de|da)\s+)*")


def _merge_next_week(atoms: list[Atom], work: str, today: dt.date) -> list[Atom]:
    """Read "la semana que viene, el martes" / "next week on tuesday" as that weekday of next week."""
    atoms.sort(key=lambda atom: atom.start)
    merged: list[Atom] = []
    for atom in atoms:
        previous = merged[-1] if merged else None
        if previous is not None and {previous.kind, atom.kind} == {"next_week", "weekday"}:
            gap = work[previous.end : atom.start]
            if _GLUE.fullmatch(gap.replace(MASK, " ")):
                weekday = previous.weekday if previous.kind == "weekday" else atom.weekday
                date = _monday_next_week(today) + dt.timedelta(days=weekday or 0)
                merged[-1] = Atom(previous.start, atom.end, date=date, kind="rel")
                continue
        merged.append(atom)
    return merged


def find_nights(work: str) -> tuple[int | None, str]:
    """Stated length of stay in nights (weeks count 7) and ``work`` with it masked."""
    nights: int | None = None
    spans: list[tuple[int, int]] = []
    for pattern, hint, per_unit in ((_NIGHTS, _NIGHT_HINT, 1), (_WEEKS, _WEEK_HINT, 7)):
        if not hint.search(work):  # cheap test first: most messages state no length of stay
            continue
        for match in pattern.finditer(work):
            if match.group("n"):
                count = number_value(match.group("n"))
            elif match.group("one"):
                count = 1
            else:
                count = 2
            if count and nights is None:
                nights = count * per_unit
            spans.append(match.span())
        work = mask(work, spans)
    return nights, work
