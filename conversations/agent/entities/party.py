"""Party size: ``adults`` and ``children``.

Read only on text whose dates, nights, prices, times, ages, room numbers, phones and references are already
masked, so "200 euros", "a las 14h", "habitación 204" or "del 3 al 5" are never people.

- Explicit counts: "2 adultos y un niño", "2 adults and 1 child", "2 adultos e uma criança", "adultos: 2";
  children also as niños/nenes/chicos/peques/críos/hijos/bebés/menores, kids/children/babies/toddlers/infants,
  crianças/filhos/bebês; several child mentions add up ("2 niños y un bebé" → 3).
- One child without a number: "con mi hijo", "with my baby", "com o bebê", "y el peque" → 1.
- Totals: "somos 4", "somos em 4", "we are 4", "para 2 personas", "pra 3 pessoas", "for two", "para duas
  pessoas", "3 pax", "familia de 4", "group of 5" → adults (the last one when several: "era para 3 y somos 4"
  → 4). When children are also mentioned the total includes them ("somos 4 con 2 niños" → 2 + 2) unless they
  are added with "y/and/e/+/más/plus" right after the total ("somos 2 y un bebé" → 2 + 1).
- Couples: "una pareja", "un matrimonio", "a couple" (not "a couple of"), "um casal", and a bare couple with
  someone ("casal com um filho", "pareja con un bebé", "couple with a baby") → 2 adults.
- Companions: "mi mujer y yo", "my wife and I", "eu e minha esposa", "con mi marido", "with my friend" →
  2 adults; "mi hijo y yo", "me and my kids" → 1 adult (plus the children).
- Alone: "solo yo", "just me", "só eu", "viajo sola", "sozinho" → 1 adult.
Adults are only reported when something above states them.
"""

from __future__ import annotations

import re

from .lexicon import NUM, QTY, number_value
from .normalize import mask

# At most 9 ages in one list: unbounded, every number of a long list of numbers began a scan to its end (quadratic).
_AGES = re.compile(
    r"(?:\b(?:de|of|com|with|con)\s+)?\b\d{1,2}(?:\s*(?:,|y|and|e|&)\s*\d{1,2}){0,8}\s*"
    r"(?:anos|anitos|years?(?:\s+old)?|yrs?|yo|meses|months?)\b"
)
_PRICES = re.compile(
    r"(?:[€$£]|\br\$|\busd|\beur)\s*\d[\d.,]*"
    # (?<!…): one attempt per run of digits, not one per digit (a 4,000-digit message took 0.3 s, quadratic)
    r"|(?<![\d.,])\d[\d.,]*\s*(?:[€$£]|(?:euros?|eur|dolares|dollars?|usd|reais|real|pesos|mxn|ars|brl|bucks)\b)"
)
_TIMES = re.compile(
    r"\b\d{1,2}(?:[:.h]\d{2})?\s*(?:h|hs|hrs|horas|hours|am|pm|a\.m\.|p\.m\.)(?!\w)|\b\d{1,2}:\d{2}\b"
    r"|\b(?:a\s+las|a\s+la|at|sobre\s+las|hacia\s+las|antes\s+de\s+las|despues\s+de\s+las)\s+\d{1,2}\b"
)
_ROOM_NUMBER = re.compile(
    r"\b(?:habitacion|habitaciones|hab|cuarto|room|rooms|quarto|apartamento|apto|apt|suite|puerta|door|piso|floor"
    r"|planta|andar|numero|number|n[o.]|#)\s*(?:n[o.]\s*|#\s*|numero\s*|number\s*)?(?P<n>\d{1,5})\b"
    r"(?!\s*(?:adult|person|people|pessoa|pax|guest|huesped|hospede|nin|kid|child|crian|bebe|baby))"
)
_YEARS = re.compile(r"\b(?:19|20)\d\d\b|\b\d{3,}\b")

_CHILD_PLURAL = (
    r"ninos|ninas|nenes|nenas|chicos|peques|pequenos|pequenas|crios|crias|hijos|hijas|menores|bebes|babies|kids"
    r"|children|childs|toddlers|infants|criancas|filhos|filhas|bebezinhos|nenens|criancinhas|sons|daughters"
)
_CHILD_SINGULAR = (
    r"nino|nina|nene|nena|peque|pequeno|pequena|crio|cria|hijo|hija|menor|bebe|baby|kid|child|daughter"
    r"|toddler|infant|crianca|filho|filha|bebezinho|nenem|criancinha"
)
_ADULT = r"adultos?|adultas?|adults?|mayores|grown[\s-]?ups?"
_PERSON = r"personas?|people|persons?|pessoas?|pax|huespedes|huesped|guests?|hospedes?"
_COMPANION = (
    r"mujer|esposa|esposo|marido|pareja|novia|novio|wife|husband|partner|girlfriend|boyfriend|fiancee?|spouse"
    r"|mulher|namorada|namorado|companheira|companheiro|noiva|noivo|senora|madre|padre|mama|papa|mother|father"
    r"|mom|mum|dad|mae|pai|hermano|hermana|brother|sister|irmao|irma|amigo|amiga|friend|colega|colleague"
    r"|companero|companera|socio|socia|suegra|suegro|sogra|sogro|chico|chica"
)
_MY = r"(?:mi|my|meu|minha|a\s+minha|o\s+meu|nuestro|nuestra|our|el|la|o|a)"
_I = r"(?:yo|i|me|eu)"
_AND = r"(?:y|and|e|&|\+)"

_ADULTS_N = re.compile(rf"(?P<n>{QTY})\s*(?:{_ADULT})\b|\b(?:{_ADULT})\s*[:=]\s*(?P<m>{NUM})")
_OF_THEM = (
    r"(?:de\s+(?:ellos|ellas|los\s+cuales|las\s+cuales)|of\s+(?:them|whom)|deles|delas|dos\s+quais|das\s+quais)"
    r"(?:\s+(?:son|are|sao|e|es))?"
)
_CHILDREN_N = re.compile(
    rf"(?P<n>{QTY})\s+(?:(?:peque\w*|little|small)\s+|{_OF_THEM}\s+)?(?:{_CHILD_PLURAL}|{_CHILD_SINGULAR})\b"
    rf"|\b(?:{_CHILD_PLURAL})\s*[:=]\s*(?P<m>{NUM})"
)
# "son" is also Spanish for "they are" ("y son 2"): English context only.
_CHILD_ONE = re.compile(
    rf"\b(?:con|with|com|y|and|e|\+)\s+{_MY}?\s*(?:{_CHILD_SINGULAR})\b"
    rf"|\b(?:mi|my|meu|minha|o\s+meu|a\s+minha|nuestro|nuestra|our)\s+(?:{_CHILD_SINGULAR})\b"
    r"|\b(?:(?:with|and|\+)\s+)?(?:my|our|a)\s+(?:step)?son\b"
)
_NOT_PEOPLE = (
    r"(?:habitac\w*|hab|rooms?|quartos?|cuartos?|camas?|beds?|dias?|days?|semanas?|weeks?|meses|months?|horas?"
    r"|hours?|minutos?|minutes?|mins?|km|kms|metros|meters|blocks?|cuadras?|quadras?|coches?|carros?|cars?"
    r"|motos?|perros?|dogs?|pets?|mascotas?|cachorros?|gatos?|cats?|maletas?|bags?|veces|times|vezes|de|of|mas"
    r"|more|other|otr[oa]s?|outr[oa]s?)\b|[€$%]|[:.,/-]\s*\d"
)
_TOTAL = re.compile(
    rf"\b(?:somos(?:\s+em)?|seremos(?:\s+em)?|estamos\s+em|vamos\s+a\s+ser|vamos|we\s+are|we're|there\s+are|there\s+will\s+be|sois|seriamos"
    rf"|total\s+de|en\s+total|in\s+total|no\s+total)\s+(?P<a>{NUM})\b"
    rf"(?:\s+(?:{_PERSON}|of\s+us|de\s+nosotros)\b|(?!\s*(?:{_NOT_PEOPLE})))"
    rf"|(?:\b(?:para|for|pra|pa)\s+|\bp/\s*)(?P<b>{NUM})\b(?:\s+(?:{_PERSON})\b|(?!\s*(?:{_NOT_PEOPLE})))"
    rf"|(?P<c>{QTY})\s+(?:{_PERSON}|of\s+us)\b"
    rf"|\b(?:familia|family|grupo|group|party)\s+(?:de|of)\s+(?P<d>{NUM})\b"
)
_AFTER_TOTAL = re.compile(r"\s*(?:(?:y|and|e|mas|plus|more|con|with|com)\b|[&+])")
_ADDITIVE = frozenset({"y", "and", "e", "&", "+", "mas", "plus", "more"})
_COUPLE = re.compile(
    r"\b(?:una\s+pareja|un\s+matrimonio|somos\s+pareja|a\s+couple(?!\s+of)|um\s+casal|somos\s+casal|el\s+matrimonio"
    r"|(?<!\bde\s)(?:pareja|couple|casal)\s+(?:con|with|com|y|and|e|mais|\+)\s+(?:(?:un|una|um|uma|a|an|\d{1,2}|dos|two"
    rf"|dois|duas|mi|my|our|meu|minha|nuestro|nosso|seu)\s+)?(?:{_CHILD_PLURAL}|{_CHILD_SINGULAR}))\b"
)
_WITH_COMPANION = re.compile(
    rf"\b{_MY}\s+(?P<a>\w+)\s+{_AND}\s+{_I}\b|\b{_I}\s+{_AND}\s+{_MY}\s+(?P<b>\w+)|\b(?:con|with|com)\s+{_MY}\s+(?P<c>\w+)"
)
_COMPANION_RE = re.compile(rf"(?:{_COMPANION})s?")
_KIDS = rf"(?:{_CHILD_PLURAL}|{_CHILD_SINGULAR}|son|stepson)"
_KIDS_AND_I = re.compile(
    rf"\b{_KIDS}\s+{_AND}\s+{_I}\b|\b{_I}\s+{_AND}\s+(?:mis|my|meus|minhas|mi|meu|minha)\s+(?:\d+\s+|\w+\s+)?{_KIDS}\b"
)
_ALONE = re.compile(
    r"\b(?:solo\s+yo|yo\s+sola|solamente\s+yo|solo\s+para\s+mi|viajo\s+solo|viajo\s+sola|just\s+me"
    r"|only\s+me|just\s+myself|just\s+for\s+me|only\s+for\s+me|(?:travell?ing|travel)\s+alone|on\s+my\s+own"
    r"|so\s+eu|somente\s+eu|apenas\s+eu|so\s+para\s+mim|sozinh[oa])\b(?!\s+(?:y|and|e|con|with|com)\b)"
)


def mask_noise(work: str) -> str:
    """Mask numbers that are never people: prices, times, ages, room numbers, years and long numbers."""
    spans = [m.span() for pattern in (_PRICES, _TIMES, _AGES, _YEARS) for m in pattern.finditer(work)]
    spans += [m.span("n") for m in _ROOM_NUMBER.finditer(work)]
    return mask(work, spans)


def extract_party(work: str) -> dict[str, int]:
    found: dict[str, int] = {}
    adults = 0
    for match in _ADULTS_N.finditer(work):
        adults += number_value(match["n"] or match["m"]) or 0
    work = mask(work, [m.span() for m in _ADULTS_N.finditer(work)])

    company_text = work
    children = 0
    child_spans = []
    for match in _CHILDREN_N.finditer(work):
        children += number_value(match["n"] or match["m"]) or 0
        child_spans.append(match.span())
    work = mask(work, child_spans)
    for match in _CHILD_ONE.finditer(work):
        children += 1
        child_spans.append(match.span())
    first_child = min((start for start, _ in child_spans), default=None)

    if not adults:
        adults = _adults_from_total(work, children, first_child) or _adults_from_company(company_text)
    if adults:
        found["adults"] = adults
    if children:
        found["children"] = children
    return found


def _adults_from_total(work: str, children: int, first_child: int | None) -> int:
    matches = list(_TOTAL.finditer(work))
    if not matches:
        return 0
    match = matches[-1]  # "la reserva era para 3 y somos 4": the last word on it
    total = number_value(match["a"] or match["b"] or match["c"] or match["d"]) or 0
    if not children or total <= children:
        return total
    joined = _AFTER_TOTAL.match(work, match.end())
    additive = joined is not None and joined.group().strip() in _ADDITIVE
    if additive and first_child is not None and first_child <= match.end() + 8:
        return total
    return total - children


def _adults_from_company(work: str) -> int:
    if _COUPLE.search(work):
        return 2
    for match in _WITH_COMPANION.finditer(work):
        who = match["a"] or match["b"] or match["c"]
        if _COMPANION_RE.fullmatch(who):
            return 2
    if _ALONE.search(work) or _KIDS_AND_I.search(work):
        return 1
    return 0
