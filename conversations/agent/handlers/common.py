"""Small helpers shared by handlers: formatting money and dates in the guest's language, option labels."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conversations.agent.types import Option

MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}  # fmt: skip
WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "pt": ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "US$", "BRL": "R$", "GBP": "£", "MXN": "MX$", "ARS": "AR$"}

# What each intent is called when the agent offers it as an option.
INTENT_LABELS = {
    "check_availability": gettext_lazy("Check availability"),
    "room_info": gettext_lazy("Rooms and prices"),
    "make_reservation": gettext_lazy("Make a booking"),
    "modify_reservation": gettext_lazy("Change my booking"),
    "cancel_reservation": gettext_lazy("Cancel my booking"),
    "reservation_status": gettext_lazy("My booking"),
    "late_checkout": gettext_lazy("Late check-out"),
    "early_checkin": gettext_lazy("Early check-in"),
    "hotel_info": gettext_lazy("Hotel information"),
    "location": gettext_lazy("How to get here"),
    "service_request": gettext_lazy("A request for my room"),
    "complaint": gettext_lazy("Report a problem"),
    "human_handoff": gettext_lazy("Talk to reception"),
}


def fmt_date(day: dt.date, language: str) -> str:
    lang = language if language in MONTHS else "en"
    weekday = WEEKDAYS[lang][day.weekday()]
    month = MONTHS[lang][day.month - 1]
    if lang == "en":
        return f"{weekday} {month} {day.day}"
    return f"{weekday} {day.day} de {month}"


def fmt_money(amount: Decimal, currency: str, language: str) -> str:
    quantized = amount.quantize(Decimal("0.01"))
    whole = quantized == quantized.to_integral_value()
    text = f"{quantized:,.0f}" if whole else f"{quantized:,.2f}"
    if language in ("es", "pt"):  # 1.234,50
        text = text.replace(",", "·").replace(".", ",").replace("·", ".")
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    return f"{text} {symbol}" if language in ("es", "pt") and symbol == "€" else f"{symbol}{text}"


def fmt_time(value: dt.time) -> str:
    return value.strftime("%H:%M")


def intent_option(intent: str) -> Option:
    return Option(id=f"intent:{intent}", title=str(INTENT_LABELS.get(intent, intent)))


def yes_no_options() -> tuple[Option, ...]:
    return (Option(id="yes", title=_("Yes")), Option(id="no", title=_("No")))


def nights_between(check_in: dt.date, check_out: dt.date) -> int:
    return (check_out - check_in).days
