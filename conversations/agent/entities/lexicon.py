"""Vocabulary shared by the extractors: number words, months, weekdays and regex fragments built from them.

Every key is in folded form (lower case, no accents): ``tres`` covers "três", ``marco`` covers "março".
"""

from __future__ import annotations

import re

_CARDINALS_ES = {
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
    "dieciseis": 16,
    "diecisiete": 17,
    "dieciocho": 18,
    "diecinueve": 19,
    "veinte": 20,
    "veintiuno": 21,
    "veintiun": 21,
    "veintidos": 22,
    "veintitres": 23,
    "veinticuatro": 24,
    "veinticinco": 25,
    "veintiseis": 26,
    "veintisiete": 27,
    "veintiocho": 28,
    "veintinueve": 29,
    "treinta": 30,
    "treinta y uno": 31,
    "treinta y un": 31,
}
_UNITS_EN = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_CARDINALS_EN = {
    **{word: value for value, word in enumerate(_UNITS_EN, start=1)},
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    **{f"twenty {word}": 20 + value for value, word in enumerate(_UNITS_EN, start=1)},
    "thirty": 30,
    "thirty one": 31,
}
_UNITS_PT = ["um", "dois", "tres", "quatro", "cinco", "seis", "sete", "oito", "nove"]
_CARDINALS_PT = {
    "dois": 2,
    "duas": 2,
    "tres": 3,
    "quatro": 4,
    "cinco": 5,
    "seis": 6,
    "sete": 7,
    "oito": 8,
    "nove": 9,
    "dez": 10,
    "onze": 11,
    "doze": 12,
    "treze": 13,
    "catorze": 14,
    "quatorze": 14,
    "quinze": 15,
    "dezesseis": 16,
    "dezasseis": 16,
    "dezessete": 17,
    "dezassete": 17,
    "dezoito": 18,
    "dezenove": 19,
    "dezanove": 19,
    "vinte": 20,
    **{f"vinte e {word}": 20 + value for value, word in enumerate(_UNITS_PT, start=1)},
    "vinte e uma": 21,
    "vinte e duas": 22,
    "trinta": 30,
    "trinta e um": 31,
    "trinta e uma": 31,
}
CARDINALS: dict[str, int] = {**_CARDINALS_ES, **_CARDINALS_EN, **_CARDINALS_PT}
# "un niño", "una noche", "a baby", "um bebê", "uma semana": one, but only in front of a noun.
ARTICLES_ONE: dict[str, int] = {"un": 1, "una": 1, "um": 1, "uma": 1, "a": 1, "an": 1}

_ORDINALS_EN = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
    "thirty first": 31,
}
_ORDINALS_EN.update({f"twenty {word}": 20 + value for word, value in list(_ORDINALS_EN.items()) if value < 10})
ORDINALS: dict[str, int] = {"primero": 1, "primer": 1, "primeiro": 1, **_ORDINALS_EN}
DAY_WORDS: dict[str, int] = {**CARDINALS, **ORDINALS}

MONTHS_FULL: dict[str, int] = {
    **dict.fromkeys(("enero", "january", "janeiro"), 1),
    **dict.fromkeys(("febrero", "february", "fevereiro"), 2),
    **dict.fromkeys(("marzo", "march", "marco"), 3),
    **dict.fromkeys(("abril", "april"), 4),
    **dict.fromkeys(("mayo", "may", "maio"), 5),
    **dict.fromkeys(("junio", "june", "junho"), 6),
    **dict.fromkeys(("julio", "july", "julho"), 7),
    **dict.fromkeys(("agosto", "august"), 8),
    **dict.fromkeys(("septiembre", "setiembre", "september", "setembro"), 9),
    **dict.fromkeys(("octubre", "october", "outubro"), 10),
    **dict.fromkeys(("noviembre", "november", "novembro"), 11),
    **dict.fromkeys(("diciembre", "december", "dezembro"), 12),
}
# Abbreviations are per language: "mar" (sea), "set", "out", "dez" (ten) mean other things elsewhere.
_ABBR = {
    "es": "ene feb mar abr may jun jul ago sep sept set oct nov dic",
    "en": "jan feb mar apr may jun jul aug sep sept oct nov dec",
    "pt": "jan fev mar abr mai jun jul ago set out nov dez",
}
_ABBR_MONTH = {
    "ene": 1, "jan": 1, "feb": 2, "fev": 2, "mar": 3, "abr": 4, "apr": 4, "may": 5, "mai": 5, "jun": 6,
    "jul": 7, "ago": 8, "aug": 8, "sep": 9, "sept": 9, "set": 9, "oct": 10, "out": 10, "nov": 11, "dic": 12,
    "dec": 12, "dez": 12,
}  # fmt: skip
MONTHS: dict[str, int] = {**_ABBR_MONTH, **MONTHS_FULL}

WEEKDAYS: dict[str, int] = {
    **dict.fromkeys(("lunes", "monday", "segunda"), 0),
    **dict.fromkeys(("martes", "tuesday", "terca"), 1),
    **dict.fromkeys(("miercoles", "wednesday", "quarta"), 2),
    **dict.fromkeys(("jueves", "thursday", "quinta"), 3),
    **dict.fromkeys(("viernes", "friday", "sexta"), 4),
    **dict.fromkeys(("sabado", "saturday"), 5),
    **dict.fromkeys(("domingo", "sunday"), 6),
}
# Portuguese weekday names that are also ordinals ("segunda vez", "quinta noite"): need "-feira" or a cue.
AMBIGUOUS_WEEKDAYS = frozenset({"segunda", "quarta", "quinta"})
PORTUGUESE_ONLY_WEEKDAYS = frozenset({"segunda", "terca", "quarta", "quinta", "sexta"})


def alternation(words) -> str:
    """Regex alternation, longest first; a space inside a key matches spaces or hyphens ("twenty-one")."""
    parts = sorted(set(words), key=len, reverse=True)
    return "|".join(r"[\s-]+".join(re.escape(piece) for piece in word.split(" ")) for word in parts)


_SEPARATORS = re.compile(r"[\s-]+")


def number_value(token: str) -> int | None:
    token = _SEPARATORS.sub(" ", token.strip())
    if token.isdecimal():  # what int() reads ("²".isdigit() is True, but int("²") fails)
        return int(token)
    return DAY_WORDS.get(token) or ARTICLES_ONE.get(token)


def month_alternation(language: str, *, abbreviations: bool = True) -> str:
    words = list(MONTHS_FULL)
    if abbreviations:
        words += _ABBR[language].split()
    return alternation(words)


CARDINAL_ALT = alternation(CARDINALS)
DAY_WORD_ALT = alternation(DAY_WORDS)
# A count 1–99: digits or a number word ("tres", "three", "três"). QTY also accepts "un/una/a/um/uma".
NUM = rf"(?:(?<![\d.,/:])\d{{1,2}}(?![\d]|[.,]\d)|\b(?:{CARDINAL_ALT})\b)"
QTY = rf"(?:(?<![\d.,/:])\d{{1,2}}(?![\d]|[.,]\d)|\b(?:{CARDINAL_ALT}|un|una|um|uma|an|a)\b)"
DAY_DIGITS = r"(?:[12]\d|3[01]|0?[1-9])"
DAY_SUFFIX = r"(?:st|nd|rd|th|ero|ro|er|do|to|mo|vo|no|o|a)"

# What follows a number that is a quantity, a price, a time or an age — never a day of the month.
UNIT_WORDS = (
    r"noches?|nights?|noites?|nites?|nts|personas?|people|persons?|pessoas?|adult\w*|nin[oa]s?|kids?|child\w*"
    r"|crianc\w*|pax|huesped\w*|guests?|hospedes?|dias?|days?|semanas?|weeks?|meses|months?|horas?|hours?|hrs?"
    r"|hs|h|am|pm|euros?|eur|dolares|dollars?|reais|usd|pesos|anos|years?|bebes?|babies|baby|habitacion\w*|hab"
    r"|rooms?|quartos?|camas?|beds?|minutos?|minutes?|mins?|of\s+us|de\s+nosotros|km|kms|metros|estrellas|stars"
    r"|estrelas|floor|piso|planta|andar|vez|veces|times?|hijos?|filhos?|peques?|nenes?|chicos?|vezes"
)
NOT_UNIT = rf"(?!\s*(?:(?:{UNIT_WORDS})\b|[€$%]|[:.,]\d))"
