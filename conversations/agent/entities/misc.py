"""Contact details and booking references: ``email``, ``phone``, ``booking_ref``.

- email: the usual ``local@domain.tld``, returned lower-cased.
- phone: "+34 600 111 222", "0034 600111222", "600111222", "(11) 98765-4321", "+55 11 98765-4321": 9–15
  digits, returned as digits with a leading ``+`` when the guest wrote one (or ``00``).
- booking_ref: after a cue ("reserva 48213", "localizador HX3F9", "booking #XK92LM", "código de reserva: ...",
  "confirmation number ...") any 4–12 character code with a digit, or an all-capitals code of 5+ letters;
  without a cue, an upper-case code of 5–12 letters and digits with at least one of each ("ABC123",
  "RES-4821"). Never an e-mail, a phone number, a date, a plain year, a price, a Wi-Fi password, a tax or
  identity number (NIF, DNI, CPF...) or a flight number.
"""

from __future__ import annotations

import re

from .normalize import MASK, Normalized, mask

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"\b(?:https?://|www\.)\S+")
_PHONE = re.compile(r"(?<![\w+/.,:-])(?P<plus>\+|00)?\s?(?:\(\d{1,4}\)\s?)?\d[\d\s().-]{6,22}\d(?![\w/]|[.,:-]\d)")
_REF_CUE = re.compile(
    r"\b(?:localizador|codigo\s+de\s+(?:la\s+)?(?:reserva|confirmacion)|codigo\s+da\s+reserva|codigo"
    r"|numero\s+de\s+(?:la\s+)?reserva|numero\s+da\s+reserva|n[o.]?\s*(?:de\s+)?reserva|referencia|reference|ref"
    r"|booking(?:\s+(?:reference|ref|number|code|id|no))?|reservation(?:\s+(?:number|code|id|no))?"
    r"|reserva(?:\s+(?:numero|nro|n[o.]))?|confirmation(?:\s+(?:number|code|no))?|confirmacion|confirmacao"
    r"|locator|pnr)\b"
    r"(?:\s*(?:[#:]|(?:n[o.]|nro|num|numero|number|es|is|e|id|code|la|el|the|o|a|my|mi)\b\.?))*\s*"
    r"(?P<ref>[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){3,14})(?![\w@/-])"
)
_REF_BARE = re.compile(
    r"(?<![\w@.-])(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9](?:[A-Z0-9]|-(?=[A-Z0-9])){4,14}(?![\w@-])"
)
_UNIT_CODE = re.compile(
    r"\d+(?:EUR|EUROS|USD|BRL|MXN|ARS|PAX|AM|PM|H|HS|HRS|HORAS|KM|KG|ST|ND|RD|TH|GB|MB|MIN|MINS|NOCHES|NIGHTS|X)"
)
_NOT_DIGIT = re.compile(r"\D")
_YEAR = re.compile(r"(?:19|20)\d\d")
_DATE_LIKE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}-\d{1,2}"
    r"|\d{1,2}(?:ENE|JAN|FEB|FEV|MAR|ABR|APR|MAY|MAI|JUN|JUL|AGO|AUG|SEP|SET|OCT|OUT|NOV|DIC|DEC|DEZ)\d{0,4}"
)
# Codes that are not bookings: Wi-Fi passwords, tax and identity numbers, flights, car plates, bank accounts.
_NOT_A_BOOKING_BEFORE = re.compile(
    r"\b(?:password|contrasena|clave|senha|pass|wifi|wi-fi|pin|usuario|user|nif|cif|nie|dni|cpf|cnpj|rg|rfc|curp"
    r"|cuit|cuil|passport|pasaporte|passaporte|vuelo|flight|voo|matricula|placa|plate|iban|cuenta|account|conta"
    r"|factura|invoice|nota\s+fiscal)\b\W*(?:\w+\W+)?$"
)


def _valid_ref(code: str, *, cued: bool, upper_in_text: bool) -> bool:
    core = code.replace("-", "")
    if (
        not 4 <= len(core) <= 12
        or _YEAR.fullmatch(core)
        or _UNIT_CODE.fullmatch(core.upper())
        or _DATE_LIKE.fullmatch(code.upper())
        or _DATE_LIKE.fullmatch(core.upper())
    ):
        return False
    has_digit = any(char.isdigit() for char in core)
    if cued:
        return has_digit or (upper_in_text and len(core) >= 5)
    return has_digit and len(core) >= 5 and any(char.isalpha() for char in core)


def extract_misc(text: Normalized, work: str) -> tuple[dict[str, str], str]:
    found: dict[str, str] = {}
    spans: list[tuple[int, int]] = []

    for match in _EMAIL.finditer(text.clean):
        found.setdefault("email", match.group().rstrip(".").lower())
        spans.append(match.span())
    spans.extend(match.span() for match in _URL.finditer(work))
    work = mask(work, spans)

    for match in _REF_CUE.finditer(work):
        start, end = match.span("ref")
        code = text.clean[start:end]
        shouting = text.clean[match.start() : start].isupper()  # "RESERVA HOTEL": capitals say nothing
        if _valid_ref(code, cued=True, upper_in_text=code.isupper() and not shouting):
            found.setdefault("booking_ref", code.upper())
            spans.append((start, end))
            break
    work = mask(work, spans)

    for match in _PHONE.finditer(work):
        digits = _NOT_DIGIT.sub("", match.group())
        if match.group("plus") == "00":
            digits = digits[2:]
        if 9 <= len(digits) <= 15:
            found.setdefault("phone", ("+" if match.group("plus") else "") + digits)
            spans.append(match.span())
    work = mask(work, spans)

    if "booking_ref" not in found:
        for match in _REF_BARE.finditer(text.clean):
            start, end = match.span()
            if MASK in work[start:end] or _NOT_A_BOOKING_BEFORE.search(work, max(0, start - 30), start):
                continue
            if _valid_ref(match.group(), cued=False, upper_in_text=True):
                found["booking_ref"] = match.group()
                spans.append((start, end))
                break
    return found, mask(work, spans)
