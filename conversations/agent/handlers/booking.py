"""Availability, room information and new bookings (slot filling → summary → explicit confirmation → book)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import structlog
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from conversations.agent import pms_access
from conversations.agent.booking_attempts import (
    booking_attempt_claim,
    booking_attempt_mark_booked,
    booking_attempt_mark_failed,
    booking_attempt_mark_unknown,
)
from conversations.agent.handlers.common import fmt_date, fmt_money, yes_no_options
from conversations.agent.handlers.escalation import escalate
from conversations.agent.handlers.rooms import room_capacity, room_for, room_name, rooms_matching
from conversations.agent.nlu.text import normalize
from conversations.agent.types import Option, Reply, TurnContext
from conversations.locks import LockNotAcquired, distributed_lock
from conversations.metrics import booking_outcome_unknown_total
from conversations.models import BookingAttemptStatus
from pms.base import GuestDetails, Offer, PMSError, PMSNoAvailability, PMSUnavailable
from pms.resilience import PMSCircuitOpen

logger = structlog.get_logger(__name__)
MAX_OFFERS = 5


# --- helpers --------------------------------------------------------------------------------------------------------
def stay_from(ctx: TurnContext) -> tuple[dt.date | None, dt.date | None]:
    check_in, check_out, nights = ctx.slot("check_in"), ctx.slot("check_out"), ctx.slot("nights")
    if check_in and not check_out and isinstance(nights, int) and nights > 0:
        check_out = check_in + dt.timedelta(days=nights)
    return check_in, check_out


def party_from(ctx: TurnContext) -> tuple[int | None, int]:
    adults = ctx.slot("adults")
    children = ctx.slot("children") or 0
    return (adults if isinstance(adults, int) and adults > 0 else None), (children if isinstance(children, int) else 0)


def degraded(ctx: TurnContext, operation: str) -> Reply:
    pms_access.orchestrator_degraded_responses_total.labels(operation=operation, mode="handover").inc()
    return Reply(
        text=_(
            "I'm sorry, I can't reach our booking system right now. Shall I pass your request to reception so they "
            "can answer you as soon as possible?"
        ),
        language=ctx.language,
        options=yes_no_options(),
        pending={"action": "offer_staff", "reason": f"pms_unavailable:{operation}"},
    )


def ask(ctx: TurnContext, *, flow: str, slot: str, text: str, options: tuple[Option, ...] = ()) -> Reply:
    return Reply(
        text=text, language=ctx.language, options=options, pending={"action": "collect", "for": flow, "slot": slot}
    )


def ask_dates(ctx: TurnContext, flow: str) -> Reply:
    return ask(ctx, flow=flow, slot="dates", text=_("For which dates? For example: from 3 to 5 March."))


def ask_nights(ctx: TurnContext, flow: str, check_in: dt.date) -> Reply:
    return ask(
        ctx,
        flow=flow,
        slot="nights",
        text=_("Arriving on %(date)s. How many nights will you stay?") % {"date": fmt_date(check_in, ctx.language)},
    )


def stay_text(ctx: TurnContext, check_in: dt.date, check_out: dt.date, adults: int, children: int) -> str:
    nights = (check_out - check_in).days
    parts = [
        _("from %(start)s to %(end)s")
        % {"start": fmt_date(check_in, ctx.language), "end": fmt_date(check_out, ctx.language)},
        ngettext("%(n)d night", "%(n)d nights", nights) % {"n": nights},
        ngettext("%(n)d adult", "%(n)d adults", adults) % {"n": adults},
    ]
    if children:
        parts.append(ngettext("%(n)d child", "%(n)d children", children) % {"n": children})
    return ", ".join(parts)


def offer_line(offer: Offer, language: str) -> str:
    taxes = _("taxes included") if offer.taxes_included else _("taxes not included")
    nightly = offer.nightly_prices
    if len(set(nightly)) == 1:
        detail = _("%(nights)d × %(price)s") % {
            "nights": len(nightly),
            "price": fmt_money(nightly[0], offer.currency, language),
        }
    else:
        detail = _("%(nights)d nights") % {"nights": len(nightly)}
    total = fmt_money(offer.total_price, offer.currency, language)
    return f"• {room_name(offer.room_type, language)}: {detail} = {total} ({taxes})"


# Dates refused once are forgotten: kept in the session, they would refuse every later turn of the flow too.
_FORGET_STAY = {"check_in": None, "check_out": None, "nights": None}


def _valid_stay(ctx: TurnContext, flow: str, check_in: dt.date | None, check_out: dt.date | None) -> Reply | None:
    if not check_in:
        return ask_dates(ctx, flow)
    if check_in < ctx.today:
        text = _("That date has already passed. Which dates would you like?")
        return replace(ask(ctx, flow=flow, slot="dates", text=text), remember=_FORGET_STAY)
    if not check_out:
        return ask_nights(ctx, flow, check_in)
    if check_out <= check_in:
        text = _("The departure must be after the arrival. Which dates would you like?")
        return replace(ask(ctx, flow=flow, slot="dates", text=text), remember=_FORGET_STAY)
    return None


# --- availability ----------------------------------------------------------------------------------------------
# "dos habitaciones dobles", "two double rooms", "3 quartos": one booking here is one room; several go to reception.
_SEVERAL_ROOMS = re.compile(
    r"\b(?:[2-9]|1[0-9]|dos|tres|cuatro|cinco|seis|two|three|four|five|six|dois|duas|quatro)\s+(?:[^\W\d_]+\s+)?"
    r"(?:habitaciones|cuartos|rooms|quartos|apartamentos|apartments)\b"
)


def several_rooms(ctx: TurnContext) -> Reply | None:
    """A request for more than one room is handed to reception, which can combine rooms and quote a group price;
    answering it as one room for the whole party would say "no availability" when two doubles are free."""
    if not _SEVERAL_ROOMS.search(normalize(ctx.text)):
        return None
    return escalate(
        ctx,
        reason="several_rooms",
        lead=_(
            "Bookings of several rooms are prepared by reception, so they can offer you the best combination. "
            "I've passed your request to them."
        ),
    )


def _offers(ctx: TurnContext, check_in: dt.date, check_out: dt.date, adults: int, children: int) -> list[Offer] | None:
    """The PMS's offers for the stay; ``[]`` when it refuses the request, ``None`` when it cannot be reached."""
    try:
        return pms_access.adapter(ctx.tenant).availability(check_in, check_out, adults, children)
    except PMSUnavailable:
        return None
    except PMSError as exc:
        logger.info("availability_refused", error=str(exc))
        return []


def handle_cheaper(ctx: TurnContext, pending: dict[str, Any]) -> Reply:
    """ "¿Algo más barato?" after a list of rooms: the most affordable one for the same stay and party, offered on its
    own (a "yes" then picks it); the question the list asked stays open."""
    check_in, check_out = stay_from(ctx)
    adults, children = party_from(ctx)
    if not check_in or not check_out or adults is None:
        return handle_check_availability(ctx)
    offers = _offers(ctx, check_in, check_out, adults, children)
    if offers is None:
        return degraded(ctx, "availability")
    if not offers:
        return handle_check_availability(ctx)
    cheapest = min(offers, key=lambda o: o.total_price)
    stay = stay_text(ctx, check_in, check_out, adults, children)
    lines = [
        _("The most affordable option %(stay)s is:") % {"stay": stay},
        offer_line(cheapest, ctx.language),
        _("Would you like to book it?"),
    ]
    return Reply(
        text="\n".join(lines),
        language=ctx.language,
        options=(Option(id=f"room:{cheapest.room_type.code}", title=room_name(cheapest.room_type, ctx.language)[:20]),),
        pending={**pending, **listed_offers([cheapest])},
    )


def listed_offers(offers: list[Offer]) -> dict[str, Any]:
    """What a pending question keeps of the offers it shows, so that "la primera" or "the cheapest" picks one."""
    if not offers:
        return {}
    by_price = sorted(offers, key=lambda o: o.total_price)
    return {
        "listed": [o.room_type.code for o in offers],
        "cheapest": by_price[0].room_type.code,
        "priciest": by_price[-1].room_type.code,
        # Every name of each room, so that "the family one" or "la de vistas al mar" picks it in any language.
        "names": {o.room_type.code: sorted({o.room_type.name, *o.room_type.names.values()}) for o in offers},
    }


def handle_check_availability(ctx: TurnContext) -> Reply:
    several = several_rooms(ctx)
    if several:
        return several
    check_in, check_out = stay_from(ctx)
    problem = _valid_stay(ctx, "check_availability", check_in, check_out)
    if problem:
        return problem
    adults, children = party_from(ctx)
    assumed_party = adults is None
    adults = adults or 2
    pms = pms_access.adapter(ctx.tenant)
    try:
        offers = pms.availability(check_in, check_out, adults, children)
    except PMSUnavailable:
        return degraded(ctx, "availability")
    except PMSError as exc:
        logger.info("availability_refused", error=str(exc))
        offers = []
    stay = stay_text(ctx, check_in, check_out, adults, children)
    if not offers:
        return Reply(
            text=_("I'm sorry, we have no rooms available %(stay)s. Would you like to try other dates?")
            % {"stay": stay},
            language=ctx.language,
            pending={"action": "collect", "for": "check_availability", "slot": "dates"},
        )
    asked = rooms_matching([o.room_type for o in offers], ctx.nlu.entities.get("room_type"))
    if asked:  # the guest asked about a kind of room: only those
        codes = {room.code for room in asked}
        offers = [o for o in offers if o.room_type.code in codes]
    lines = [_("Available %(stay)s:") % {"stay": stay}]
    lines += [offer_line(offer, ctx.language) for offer in offers[:MAX_OFFERS]]
    if pms_access.last_result_stale(pms):
        pms_access.orchestrator_degraded_responses_total.labels(operation="availability", mode="stale").inc()
        lines.append(
            _("(Approximate: our booking system is not answering right now, so these figures may have changed.)")
        )
    if assumed_party:
        lines.append(_("Prices are for 2 adults; tell me if you are more people."))
    lines.append(_("Would you like to book it?") if len(offers) == 1 else _("Would you like to book one of them?"))
    options = tuple(
        Option(id=f"room:{o.room_type.code}", title=room_name(o.room_type, ctx.language)[:20]) for o in offers[:3]
    )
    return Reply(
        text="\n".join(lines),
        language=ctx.language,
        options=options,
        pending={"action": "offer_booking", **listed_offers(offers[:MAX_OFFERS])},
        remember={"check_in": check_in, "check_out": check_out, "adults": adults, "children": children},
    )


def handle_room_info(ctx: TurnContext) -> Reply:
    pms = pms_access.adapter(ctx.tenant)
    try:
        rooms = pms.room_types()
    except PMSUnavailable:
        return degraded(ctx, "room_types")
    if not rooms:
        return Reply(
            text=_("I don't have the room list at hand right now; reception can tell you more."), language=ctx.language
        )
    chosen = rooms_matching(rooms, ctx.nlu.entities.get("room_type"))  # "la suite" is the Suite Junior
    if len(chosen) == 1:
        room = chosen[0]
        description = room.descriptions.get(ctx.language) or room.descriptions.get("en") or ""
        text = _("%(name)s: %(capacity)s, from %(price)s per night.") % {
            "name": room_name(room, ctx.language),
            "capacity": room_capacity(room),
            "price": fmt_money(room.base_price, room.currency, ctx.language),
        }
        return Reply(text=f"{text} {description}".strip(), language=ctx.language)
    lines = [_("These are our rooms:")]
    for room in chosen or rooms:  # several of the kind asked about ("doble"): those; nothing matched: every room
        lines.append(
            _("• %(name)s — %(capacity)s, from %(price)s per night")
            % {
                "name": room_name(room, ctx.language),
                "capacity": room_capacity(room),
                "price": fmt_money(room.base_price, room.currency, ctx.language),
            }
        )
    lines.append(_("Tell me your dates and I'll check availability and the exact price."))
    return Reply(text="\n".join(lines), language=ctx.language)


# --- new booking -----------------------------------------------------------------------------------------------
def handle_make_reservation(ctx: TurnContext) -> Reply:
    flow = "make_reservation"
    several = several_rooms(ctx)
    if several:
        return several
    check_in, check_out = stay_from(ctx)
    problem = _valid_stay(ctx, flow, check_in, check_out)
    if problem:
        return problem
    adults, children = party_from(ctx)
    if adults is None:
        return ask(ctx, flow=flow, slot="adults", text=_("How many people will stay? (adults and children)"))
    offers = _offers(ctx, check_in, check_out, adults, children)
    if offers is None:
        return degraded(ctx, "availability")
    stay = stay_text(ctx, check_in, check_out, adults, children)
    if not offers:
        return Reply(
            text=_("I'm sorry, we have no rooms available %(stay)s. Would you like to try other dates?")
            % {"stay": stay},
            language=ctx.language,
            pending={"action": "collect", "for": flow, "slot": "dates"},
        )
    chosen = room_for([o.room_type for o in offers], ctx.slot("room_type"))
    offer = next((o for o in offers if chosen and o.room_type.code == chosen.code), None)
    if offer is None and len(offers) == 1 and not ctx.slot("room_type"):
        offer = offers[0]  # nothing to choose from; the summary names the room before anything is booked
    if offer is None:
        if ctx.slot("room_type"):
            lead = _("That room type is not available %(stay)s, but these are:") % {"stay": stay}
        else:
            lead = _("Which room would you like? Available %(stay)s:") % {"stay": stay}
        lines = [lead, *(offer_line(o, ctx.language) for o in offers[:MAX_OFFERS])]
        options = tuple(
            Option(id=f"room:{o.room_type.code}", title=room_name(o.room_type, ctx.language)[:20]) for o in offers[:3]
        )
        return Reply(
            text="\n".join(lines),
            language=ctx.language,
            options=options,
            pending={"action": "collect", "for": flow, "slot": "room_type", **listed_offers(offers[:MAX_OFFERS])},
            remember={"room_type": None},
        )
    name = ctx.slot("guest_name") or ""
    if not name:
        return ask(ctx, flow=flow, slot="guest_name", text=_("Under which name should I make the booking?"))
    email, phone = ctx.slot("email") or "", ctx.slot("phone") or ""
    if not email and not phone:
        if ctx.conversation.channel_account.channel in ("whatsapp", "sms"):
            phone = "+" + ctx.conversation.guest.address.lstrip("+")
        else:
            return ask(ctx, flow=flow, slot="contact", text=_("What e-mail or phone number can we reach you at?"))
    summary = _(
        "Here is your booking:\n%(room)s, %(stay)s\nName: %(name)s\nTotal: %(total)s (%(taxes)s)\nShall I confirm it?"
    ) % {
        "room": room_name(offer.room_type, ctx.language),
        "stay": stay,
        "name": name,
        "total": fmt_money(offer.total_price, offer.currency, ctx.language),
        "taxes": _("taxes included") if offer.taxes_included else _("taxes not included"),
    }
    return Reply(
        text=summary,
        language=ctx.language,
        options=yes_no_options(),
        pending={
            "action": "confirm_booking",
            "room_type": offer.room_type.code,
            "check_in": check_in.isoformat(),
            "check_out": check_out.isoformat(),
            "adults": adults,
            "children": children,
            "guest_name": name,
            "email": email,
            "phone": phone,
            "quoted_total": str(offer.total_price),
        },
        remember={"room_type": offer.room_type.code, "guest_name": name, "email": email, "phone": phone},
    )


def confirm_booking(ctx: TurnContext, pending: dict[str, Any]) -> Reply:
    """The guest said yes to the summary: book under a lock on (tenant, room type), re-checking inside the PMS.

    The attempt is recorded (``BookingAttempt``, committed) before the PMS is called, so a replayed turn (its reply
    was lost, the worker killed) answers with the booking it made, and a call whose outcome is unknown (a timeout,
    a run that died mid-call) is handed to reception instead of being tried again: a message never books twice."""
    check_in = dt.date.fromisoformat(pending["check_in"])
    check_out = dt.date.fromisoformat(pending["check_out"])
    pms = pms_access.adapter(ctx.tenant)
    try:
        with distributed_lock(tenant_id=ctx.tenant.pk, resource=f"booking:{pending['room_type']}", timeout=30, wait=10):
            # Under the lock: a replay running alongside waits for it, then finds the attempt's outcome.
            claim = booking_attempt_claim(
                tenant=ctx.tenant,
                message=ctx.message,
                room_type=pending["room_type"],
                check_in=check_in,
                check_out=check_out,
                adults=int(pending["adults"]),
                children=int(pending["children"]),
                guest_name=pending["guest_name"],
            )
            attempt = claim.attempt
            if not claim.proceed:
                if attempt.status == BookingAttemptStatus.BOOKED:
                    logger.info("booking_replayed", reference=attempt.reference, message_id=ctx.message.pk)
                    return _booked(ctx, attempt.reference, attempt.total_price, attempt.currency)
                cause = "interrupted" if attempt.status == BookingAttemptStatus.STARTED else "unresolved"
                booking_attempt_mark_unknown(attempt=attempt, error="a previous run did not finish")
                return _outcome_unknown(ctx, cause)
            try:
                booking = pms.create_booking(
                    room_type=pending["room_type"],
                    check_in=check_in,
                    check_out=check_out,
                    adults=int(pending["adults"]),
                    children=int(pending["children"]),
                    guest=GuestDetails(name=pending["guest_name"], email=pending["email"], phone=pending["phone"]),
                )
            except PMSCircuitOpen as exc:  # rejected by the breaker: the PMS was not called
                booking_attempt_mark_failed(attempt=attempt, error=f"{type(exc).__name__}: {exc}")
                raise
            except PMSUnavailable as exc:  # a timeout, a 5xx, a dropped connection: the PMS may have booked
                booking_attempt_mark_unknown(attempt=attempt, error=f"{type(exc).__name__}: {exc}")
                return _outcome_unknown(ctx, "pms_unavailable")
            except PMSError as exc:  # a definitive refusal (no availability, invalid request, …)
                booking_attempt_mark_failed(attempt=attempt, error=f"{type(exc).__name__}: {exc}")
                raise
            booking_attempt_mark_booked(attempt=attempt, booking=booking)
    except PMSNoAvailability:
        return _sold_out(ctx, pending, check_in, check_out)
    except (PMSUnavailable, LockNotAcquired):
        return degraded(ctx, "create_booking")
    except PMSError as exc:
        logger.warning("booking_refused", error=str(exc))
        return Reply(
            text=_("I couldn't complete the booking: %(reason)s. Would you like to try something else?")
            % {"reason": str(exc)},
            language=ctx.language,
        )
    return _booked(ctx, booking.reference, booking.total_price, booking.currency)


def _booked(ctx: TurnContext, reference: str, total: Decimal, currency: str) -> Reply:
    text = _(
        "Done! Your booking is confirmed. Reference: %(ref)s. Total: %(total)s. We look forward to welcoming you!"
    ) % {"ref": reference, "total": fmt_money(total, currency, ctx.language)}
    return Reply(text=text, language=ctx.language, remember={"booking_ref": reference})


def _outcome_unknown(ctx: TurnContext, cause: str) -> Reply:
    """Whether the PMS booked is unknown: nothing is tried again; reception checks and answers the guest."""
    booking_outcome_unknown_total.labels(cause=cause).inc()
    return Reply(
        text=_(
            "I'm checking with reception whether your booking went through; a colleague will confirm it here shortly."
        ),
        language=ctx.language,
        escalate_reason="booking_outcome_unknown",
    )


def _sold_out(ctx: TurnContext, pending: dict[str, Any], check_in: dt.date, check_out: dt.date) -> Reply:
    pms = pms_access.adapter(ctx.tenant)
    try:
        offers = pms.availability(check_in, check_out, int(pending["adults"]), int(pending["children"]))
    except PMSError:
        offers = []
    lead = _("I'm sorry, that room has just sold out for those dates.")
    if not offers:
        return Reply(text=f"{lead} " + _("Would you like to try other dates?"), language=ctx.language,
                     pending={"action": "collect", "for": "make_reservation", "slot": "dates"})  # fmt: skip
    lines = [lead, _("These rooms are still available:"), *(offer_line(o, ctx.language) for o in offers[:MAX_OFFERS])]
    options = tuple(
        Option(id=f"room:{o.room_type.code}", title=room_name(o.room_type, ctx.language)[:20]) for o in offers[:3]
    )
    return Reply(
        text="\n".join(lines),
        language=ctx.language,
        options=options,
        pending={
            "action": "collect",
            "for": "make_reservation",
            "slot": "room_type",
            **listed_offers(offers[:MAX_OFFERS]),
        },
        remember={"room_type": None},
    )
