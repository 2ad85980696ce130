"""Stay dates: ``check_in``, ``check_out`` and ``nights``.

Absolute forms: "12/02", "12-02", "12/02/2026", "2026-02-12", "3 de marzo", "el 3 de marzo", "marzo 3", "3 marzo",
"March 3rd", "3rd of March", "Mar 3", "3 de março", "dia 3 de março", "primero de mayo", "1º de maio"; a day
alone with a cue: "el día 15", "dia 15", "the 15th", "hasta el 18".
Ranges: "del 3 al 5 de marzo", "del 3 de marzo al 2 de abril", "entre el 3 y el 5", "from March 3 to 5",
"3-5 March", "March 3 - March 5", "de 3 a 5 de março", "do dia 3 ao dia 5", "12/03-15/03", "del viernes al
domingo", "de hoy a mañana".

- Numeric dates follow the guest's locale: day first for es and pt (and en-GB/IE/AU/NZ/IN/ZA), month first for
  other English; when that reading is impossible (13/02 in en) the other one is taken.
- A date without a year is the first one on or after today (``3 de marzo`` on 2026-03-04 is 2027-03-03). An
  explicit year is kept as written (a past one too), unless it is more than a year ago or five years ahead (a
  birth date, not a stay). A check-out without a year is the first such date after the check-in.
- A month (and year) written once in a range belongs to both ends; if the first day is not before the second,
  the first is in the previous month: "del 30 al 2 de abril" is 30 March → 2 April.
- Two separate dates are check-in then check-out, unless a cue says otherwise ("salida el 5", "hasta el
  domingo", "check-out on Friday", "saída dia 12", "até dia 15", "saindo no domingo"); a lone date after such a
  cue is a check-out only.
- Nights, when stated, give ``check_out = check_in + nights``; with no check-in in the text the
  ``check_in_hint`` (from the conversation) is the start. A check-out on or before the check-in is dropped, and
  so is one whose year was inferred that lands more than 90 nights after it ("hasta el 5 de marzo" after a
  10 March check-in).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

from .atoms import Atom, complete_range, resolve
from .lexicon import DAY_DIGITS, DAY_SUFFIX, DAY_WORD_ALT, MONTHS, NOT_UNIT, month_alternation, number_value
from .normalize import mask
from .relative import find_nights, find_relative

_MAX_INFERRED = dt.timedelta(days=90)
_DAY_FIRST_ENGLISH = frozenset({"gb", "ie", "au", "nz", "in", "za"})


def _day(tag: str) -> str:
    return (
        rf"(?:(?<![\d:/.])(?P<{tag}>{DAY_DIGITS}){DAY_SUFFIX}?\b"
        rf"|\b(?P<{tag}w>{DAY_WORD_ALT})\b)"
    )


def _year(tag: str) -> str:
    return rf"(?:\s*,?\s*(?:(?:de|del|of)\s+)?(?P<{tag}>(?:19|20)\d{{2}})\b)"


_CONN = (
    r"-|al|a|hasta(?:\s+el)?|to(?:\s+the)?|till|til|until|through|thru|ao(?:\s+dia)?|ate(?:\s+o(?:\s+dia)?)?"
    r"|y(?:\s+el)?|and(?:\s+the)?|e(?:\s+o(?:\s+dia)?)?|&"
)
_ARTICLE = r"(?:(?:el|the|o\s+dia|dia|day|o)\s+)?"
_AND_WORDS = frozenset({"y", "and", "e", "&"})


def _compile(language: str) -> dict[str, re.Pattern[str]]:
    months = month_alternation(language)
    months_first = month_alternation(language, abbreviations=language == "en")
    return {
        "month": re.compile(rf"\b(?:{months})\b"),
        "dmy": re.compile(rf"{_day('d')}(?:\s+(?:(?:de|del|of|do|da|d)\s+)?|[/.-])\b(?P<m>{months})\b\.?{_year('y')}?"),
        "mdy": re.compile(rf"\b(?P<m>{months_first})\b\.?\s*(?:the\s+)?{_day('d')}{NOT_UNIT}{_year('y')}?"),
        "lookback": re.compile(
            r"(?:\b(?P<pre>del|desde(?:\s+el)?|de|do(?:\s+dia)?|entre(?:\s+el|\s+los\s+dias|\s+os\s+dias|\s+o\s+dia)?"
            r"|between(?:\s+the)?|from(?:\s+the)?|dia)\s+)?"
            rf"{_day('d')}\s*(?:(?:de|of|d)\s+)?(?P<conn>{_CONN})\s*{_ARTICLE}$"
        ),
        "lookahead": re.compile(
            rf"\s*(?P<conn>{_CONN})\s*{_ARTICLE}{_day('d')}{NOT_UNIT}(?!\s*(?:[/.-]\s*\d|(?:de\s+|of\s+)?(?:{months})\b))"
        ),
    }


_PATTERNS = {language: _compile(language) for language in ("es", "en", "pt")}
_NOT_DATE_BEFORE = re.compile(
    r"\b(?:nota|rated|rating|score|puntuacion|calificacion|valoracion|avaliacao|habitacion|hab|room|quarto|cuarto"
    r"|numero|number|n[o.]|piso|floor|planta|andar|media|meia|half)\s*[#:]?\s*$"
)
_NOT_DATE_AFTER = re.compile(r"\s*(?:pension|pensao|board|estrellas|stars|estrelas|de\s+descuento|off)\b")
_NUMERIC_HINT = re.compile(r"\d[/.-]\d")
_NUM_DATE = r"(?P<a{n}>\d{{1,2}})(?P<s{n}>[/.-])(?P<b{n}>\d{{1,2}})(?:(?P=s{n})(?P<y{n}>\d{{4}}|\d{{2}}))?"
_NUM_RANGE = re.compile(
    rf"(?<![\d/.:,-]){_NUM_DATE.format(n=1)}\s*(?:-|al|a|to|ao|hasta|until|till|ate)\s*{_NUM_DATE.format(n=2)}"
    r"(?![\d/]|[.,:-]\d)"
)
_NUM = re.compile(rf"(?<![\d/.:,-]){_NUM_DATE.format(n=1)}(?![\d/]|[.,:-]\d){NOT_UNIT}")
_ISO = re.compile(r"\b(?P<y>20\d{2})-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)\b")
_DAY_RANGE = re.compile(
    r"\b(?P<pre>del|desde\s+el|entre\s+el|entre\s+los\s+dias|entre\s+os\s+dias|entre\s+o\s+dia|between\s+the"
    r"|from\s+the|do\s+dia|desde\s+o\s+dia|dia)\s+"
    rf"{_day('d1')}\s*(?P<conn>{_CONN})\s*{_ARTICLE}{_day('d2')}{NOT_UNIT}(?!\s*[/.-]\s*\d)"
)
_DAY_LIST = re.compile(
    rf"(?<![\d/.:])(?P<d>{DAY_DIGITS}){DAY_SUFFIX}?(?:\s*,\s*{DAY_DIGITS}{DAY_SUFFIX}?)*"
    r"\s*(?:,|y|e|and|&)\s*(?:(?:el|the|o)\s+)?$"
)
_ENTRE_BEFORE = re.compile(r"\b(?:entre|between)(?:\s+(?:el|the|o\s+dia|os\s+dias|dia))?\s*$")
_CUES_IN = (
    r"llegada|llego|llegamos|llegaria|llegariamos|llegare|llegaremos|entrada|entro|entramos|ingreso|ingresamos"
    r"|check[\s-]?in|arrival|arrive|arriving|chegada|chego|chegamos|chegaria|chegaremos|chegando|entrando|desde|from|starting"
    r"|a\s+partir\s+de|a\s+partir\s+del"
)
_CUES_OUT = (
    r"salida|salgo|salimos|saldre|saldremos|saldria|me\s+voy|nos\s+vamos|irnos|irme|check[\s-]?out|departure"
    r"|depart|departing|leave|leaving|saida|saio|saimos|sairemos|saindo|sair|hasta|until|till|ate"
)
_VERB_AFTER = re.compile(
    r"\s*,?\s*(?:(?:we|i|nosotros|yo|nos|a\s+gente|eu)\s+)?(?:(?P<verb_in>llegamos|llego|llegaremos|llegare"
    r"|arrive|arriving|chegamos|chego|chegaremos|entramos|entro)|(?P<verb_out>salimos|salgo|saldremos|saldre|nos\s+vamos"
    r"|me\s+voy|leave|leaving|saimos|saio|sairemos|vamos\s+embora|vou\s+embora))\b"
)
_CUE_IN = re.compile(rf"\b(?:{_CUES_IN})\b")
_CUE_OUT = re.compile(rf"\b(?:{_CUES_OUT})\b")
_SINGLE_DAY = re.compile(
    rf"\b(?:(?:el|o|no|para\s+o)\s+)?dia\s+(?P<d>{DAY_DIGITS})\b"
    rf"|\b(?:on\s+)?the\s+(?P<e>{DAY_DIGITS})(?:st|nd|rd|th)\b(?!\s+(?:floor|time|person|night|of\s+us))"
    rf"|\b(?:{_CUES_IN}|{_CUES_OUT}|para)\s+(?:el|the|o)\s+(?P<f>{DAY_DIGITS}){DAY_SUFFIX}?\b"
)
_SINGLE_DAY_NOT = re.compile(rf"{NOT_UNIT}(?!\s*[/.:-]\s*\d)(?!\s*(?:de\s+|of\s+)?(?:{month_alternation('es')})\b)")
_ADJACENT = re.compile(r"[\s,()]*(?:(?:el|the|dia|o|on)\s+)*")
_GAP = re.compile(rf"\s*,?\s*(?P<conn>{_CONN})\s*{_ARTICLE}")


def _day_value(match: re.Match[str], tag: str) -> int | None:
    value = match.group(tag) or match.group(tag + "w")
    return number_value(value) if value else None


def _numeric(first: str, second: str, year: str | None, *, day_first: bool) -> tuple[int, int, int | None] | None:
    a, b = int(first), int(second)
    full_year = (2000 + int(year) if len(year) == 2 else int(year)) if year else None
    for day, month in ((a, b), (b, a)) if day_first else ((b, a), (a, b)):
        if 1 <= month <= 12 and 1 <= day <= (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31):
            return day, month, full_year
    return None


def _absolute_atoms(work: str, language: str, day_first: bool) -> tuple[list[Atom], list[tuple[Atom, Atom]], str]:
    """Full dates (day and month known) and numeric ranges ("12/03-15/03") in ``work``."""
    patterns = _PATTERNS[language]
    atoms: list[Atom] = []
    pairs: list[tuple[Atom, Atom]] = []
    spans: list[tuple[int, int]] = []
    numeric = _NUMERIC_HINT.search(work) is not None  # cheap tests first: most messages have no dates
    for match in _ISO.finditer(work) if numeric else ():
        atoms.append(Atom(*match.span(), day=int(match["d"]), month=int(match["m"]), year=int(match["y"])))
        spans.append(match.span())
    work = mask(work, spans)
    for match in _NUM_RANGE.finditer(work) if numeric else ():
        parts = [_numeric(match[f"a{n}"], match[f"b{n}"], match[f"y{n}"], day_first=day_first) for n in (1, 2)]
        if parts[0] and parts[1] and (match["s1"] != "." or match["y1"]) and (match["s2"] != "." or match["y2"]):
            middle = match.start("a2")
            pairs.append((Atom(match.start(), middle, *parts[0]), Atom(middle, match.end(), *parts[1])))
            spans.append(match.span())
    work = mask(work, spans)
    for name in ("dmy", "mdy") if patterns["month"].search(work) else ():
        for match in patterns[name].finditer(work):
            day = _day_value(match, "d")
            if day and 1 <= day <= 31:
                year = int(match["y"]) if match["y"] else None
                atoms.append(Atom(*match.span(), day=day, month=MONTHS[match["m"]], year=year))
                spans.append(match.span())
        work = mask(work, spans)
    for match in _NUM.finditer(work) if numeric else ():
        parsed = _numeric(match["a1"], match["b1"], match["y1"], day_first=day_first)
        if parsed and (match["s1"] != "." or match["y1"]) and not _not_a_date(work, match):
            atoms.append(Atom(*match.span(), *parsed))
            spans.append(match.span())
    return atoms, pairs, mask(work, spans)


def _not_a_date(work: str, match: re.Match[str]) -> bool:
    """Scores, fractions and room numbers that look like "12/02": "nota 9/10", "1/2 pensión", "24/7"."""
    if match.group() == "24/7":
        return True
    return not match["y1"] and bool(
        _NOT_DATE_BEFORE.search(work, max(0, match.start() - 16), match.start())
        or _NOT_DATE_AFTER.match(work, match.end())
    )


def _partial_ranges(atoms: list[Atom], work: str, language: str) -> tuple[list[tuple[Atom, Atom]], list[Atom], str]:
    """Day-only ends bound to a full date: "del 3 al 5 de marzo", "from March 3 to 5".

    A list of days ("el 12 y 13 de marzo", "días 10, 11 y 12 de marzo") does not say when the guest leaves:
    its first day replaces the full date as a lone check-in.
    """
    patterns = _PATTERNS[language]
    ranges: list[tuple[Atom, Atom]] = []
    kept: list[Atom] = []
    spans: list[tuple[int, int]] = []
    for atom in atoms:
        window_start = max(0, atom.start - 48)
        back = patterns["lookback"].search(work, window_start, atom.start)
        if back and (back["conn"].split()[0] not in _AND_WORDS or (back["pre"] or "").startswith(("entre", "betw"))):
            day = _day_value(back, "d")
            if day:
                ranges.append((Atom(back.start(), back.end(), day=day), atom))
                spans.append(back.span())
                continue
        listed = _DAY_LIST.search(work, window_start, atom.start)
        if listed:
            first = Atom(listed.start(), atom.end, day=int(listed["d"]))
            complete_range(first, atom)
            kept.append(first)
            spans.append((listed.start(), atom.end))
            continue
        kept.append(atom)
        ahead = patterns["lookahead"].match(work, atom.end, atom.end + 48)
        if ahead and (
            ahead["conn"].split()[0] not in _AND_WORDS or _ENTRE_BEFORE.search(work, window_start, atom.start)
        ):
            day = _day_value(ahead, "d")
            if day:
                ranges.append((atom, Atom(ahead.start(), ahead.end(), day=day, month=atom.month, year=atom.year)))
                spans.append(ahead.span())
                if day <= (atom.day or 0):  # "del 28 de febrero al 2": the 2nd of the next month
                    ranges[-1][1].month = None
                    ranges[-1][1].year = None
                kept.remove(atom)
    return ranges, kept, mask(work, spans)


def _day_only(work: str) -> tuple[list[tuple[Atom, Atom]], list[Atom]]:
    ranges = []
    for match in _DAY_RANGE.finditer(work):
        if match["conn"].split()[0] in _AND_WORDS and not match["pre"].startswith(("entre", "betw")):
            continue
        first, second = _day_value(match, "d1"), _day_value(match, "d2")
        if first and second and first <= 31 and second <= 31:
            middle = match.start("conn")
            ranges.append((Atom(match.start(), middle, day=first), Atom(middle, match.end(), day=second)))
    work = mask(work, [(first.start, second.end) for first, second in ranges])
    singles = []
    for match in _SINGLE_DAY.finditer(work):
        tag = "d" if match["d"] else "e" if match["e"] else "f"
        if _SINGLE_DAY_NOT.match(work, match.end()):
            singles.append(Atom(match.start(tag), match.end(), day=int(match[tag])))
    return ranges, singles


def _role(atom: Atom, folded: str) -> str | None:
    """Role "in"/"out" from the nearest cue before the mention, or a verb right after it ("mañana salimos")."""
    window = folded[max(0, atom.start - 32) : atom.start]
    last_in = max((m.end() for m in _CUE_IN.finditer(window)), default=-1)
    last_out = max((m.end() for m in _CUE_OUT.finditer(window)), default=-1)
    if last_in != last_out:
        return "in" if last_in > last_out else "out"
    after = _VERB_AFTER.match(folded, atom.end)
    if after:
        return "in" if after["verb_in"] else "out"
    return None


def _pick(atoms: list[Atom], ranges: list[tuple[Atom, Atom]], folded: str) -> tuple[Atom | None, Atom | None]:
    """Which mention is the check-in and which the check-out."""
    in_range = {id(atom) for pair in ranges for atom in pair}
    loose = sorted((atom for atom in atoms if id(atom) not in in_range), key=lambda atom: atom.start)
    # Two loose mentions joined by a connector ("12 de marzo al 15 de marzo", "del viernes al domingo"); joined by
    # "y/and/e" they are a list ("el viernes y el sábado") unless "entre/between" opens it.
    listed: set[int] = set()
    for first, second in itertools.pairwise(loose):
        gap = _GAP.fullmatch(folded, first.end, second.start)
        if "weekend" in (first.kind, second.kind) or not gap:
            continue
        if gap["conn"].split()[0] in _AND_WORDS and not _ENTRE_BEFORE.search(
            folded, max(0, first.start - 24), first.start
        ):
            listed.add(id(second))
        else:
            ranges.append((first, second))
    if ranges:
        return min(ranges, key=lambda pair: pair[0].start)
    loose = [atom for atom in loose if id(atom) not in listed]
    weekend = next((atom for atom in loose if atom.kind == "weekend"), None)
    if weekend:
        leaving = next((atom for atom in loose if atom is not weekend and _role(atom, folded) == "out"), None)
        return weekend, leaving
    check_in = check_out = None
    for atom in loose:
        role = _role(atom, folded)
        if role == "out" and check_out is None:
            check_out = atom
        elif role != "out" and check_in is None:
            check_in = atom
        elif check_out is None:
            check_out = atom
    return check_in, check_out


def extract_dates(
    folded: str,
    work: str,
    *,
    language: str,
    today: dt.date,
    check_in_hint: dt.date | None = None,
) -> tuple[dict[str, object], str]:
    """Stay dates found in ``work`` (the folded text with other entities masked) and ``work`` with them masked."""
    base, _, region = language.lower().replace("_", "-").partition("-")
    lang = base if base in _PATTERNS else "es"
    day_first = lang != "en" or region in _DAY_FIRST_ENGLISH

    relative, work = find_relative(work, language=lang, today=today)
    nights, work = find_nights(work)
    absolute, paired, work = _absolute_atoms(work, lang, day_first)
    # A year far from now is a birth date or an old stay, not this booking.
    plausible = range(today.year - 1, today.year + 6)
    absolute = [atom for atom in absolute if atom.year is None or atom.year in plausible]
    paired = [pair for pair in paired if all(atom.year is None or atom.year in plausible for atom in pair)]
    partial, absolute, work = _partial_ranges(absolute, work, lang)
    day_ranges, singles = _day_only(work)
    relative = [
        atom
        for atom in relative
        if atom.kind != "weekday" or not any(_adjacent(atom, other, folded) for other in absolute)
    ]
    atoms = relative + absolute + singles
    ranges = paired + partial + day_ranges
    first, second = _pick(atoms, ranges, folded)

    found: dict[str, object] = {}
    if first is not None and second is not None:
        complete_range(first, second)
    check_in = resolve(first, today=today) if first else None
    anchor = check_in or check_in_hint
    check_out = resolve(second, today=today, after=anchor) if second else None
    if first is not None and first.kind == "weekend" and nights is None and check_out is None:
        check_out = first.end_date
    if nights:
        found["nights"] = nights
        start = check_in or check_in_hint
        if check_out is None and start is not None:
            check_out = start + dt.timedelta(days=nights)
    if check_in:
        found["check_in"] = check_in
    if check_out and second is not None and second.year is None and anchor and check_out - anchor > _MAX_INFERRED:
        check_out = None  # "hasta el 5 de marzo" after a 10 March check-in is not a stay of a year
    if check_out and (anchor is None or check_out > anchor):
        found["check_out"] = check_out
    spans = [(atom.start, atom.end) for atom in atoms] + [(a.start, b.end) for a, b in ranges]
    return found, mask(work, spans)


def _adjacent(weekday: Atom, other: Atom, folded: str) -> bool:
    """True for "el viernes 6 de marzo", "6 de marzo (viernes)": the weekday only repeats the date."""
    if weekday.end <= other.start:
        return bool(_ADJACENT.fullmatch(folded, weekday.end, other.start))
    if other.end <= weekday.start:
        return bool(_ADJACENT.fullmatch(folded, other.end, weekday.start))
    return False
