"""Date mentions ("atoms") and the calendar arithmetic that turns them into ``datetime.date``.

An atom is what one expression in the text says, before we know which role (check-in or check-out) it plays:
an absolute day/month/year (any of them may be missing), a fixed date (``hoy``, ``in 3 days``), a weekday, or a
whole weekend. Resolution rules:

- no year: the first occurrence on or after the anchor (today for a check-in, so the past is never chosen;
  the day after the check-in for a check-out);
- no month ("del 3 al 5" without a month anywhere): the anchor's month, or the next one if the day has passed;
- a weekday: the next such day after the anchor; "este/this/nesta" on that very weekday means today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

ONE_DAY = dt.timedelta(days=1)


@dataclass(slots=True)
class Atom:
    start: int
    end: int
    day: int | None = None
    month: int | None = None
    year: int | None = None
    date: dt.date | None = None
    end_date: dt.date | None = None  # weekends carry their own check-out
    weekday: int | None = None
    this: bool = False  # "este viernes" on a Friday is today
    kind: str = "abs"  # abs | rel | weekday | weekend | next_week

    @property
    def is_absolute(self) -> bool:
        return self.kind == "abs"


def _valid(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def first_on_or_after(month: int, day: int, anchor: dt.date) -> dt.date | None:
    for year in range(anchor.year, anchor.year + 9):  # 29 February needs a leap year
        found = _valid(year, month, day)
        if found and found >= anchor:
            return found
    return None


def day_of_month_on_or_after(day: int, anchor: dt.date) -> dt.date | None:
    year, month = anchor.year, anchor.month
    for _ in range(14):
        found = _valid(year, month, day)
        if found and found >= anchor:
            return found
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None


def weekday_after(weekday: int, anchor: dt.date, *, include_anchor: bool) -> dt.date:
    ahead = (weekday - anchor.weekday()) % 7
    if ahead == 0 and not include_anchor:
        ahead = 7
    return anchor + dt.timedelta(days=ahead)


def resolve(atom: Atom, *, today: dt.date, after: dt.date | None = None) -> dt.date | None:
    """The date an atom means; ``after`` (a check-in) makes it the first such date strictly later."""
    if atom.date is not None:
        return atom.date
    anchor = after + ONE_DAY if after else today
    if atom.weekday is not None:
        return weekday_after(atom.weekday, anchor, include_anchor=atom.this or after is not None)
    if atom.day is None:
        return None
    if atom.month is None:
        return day_of_month_on_or_after(atom.day, anchor)
    if atom.year is not None:
        return _valid(atom.year, atom.month, atom.day)
    return first_on_or_after(atom.month, atom.day, anchor)


def complete_range(first: Atom, second: Atom) -> None:
    """Share a month/year given only once: "del 30 al 2 de abril" is 30 March → 2 April."""
    if not (first.is_absolute and second.is_absolute):
        return
    if first.month is None and second.month is not None:
        first.month = second.month
        wrapped = first.day is not None and second.day is not None and first.day >= second.day
        if wrapped:
            first.month = 12 if second.month == 1 else second.month - 1
        if first.year is None and second.year is not None:
            first.year = second.year - 1 if wrapped and second.month == 1 else second.year
    elif first.year is None and second.year is not None and first.month is not None:
        first.year = second.year
        if (first.month, first.day or 0) >= (second.month or 0, second.day or 0):
            first.year -= 1
