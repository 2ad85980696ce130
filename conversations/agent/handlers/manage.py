"""Existing bookings: status, cancellation (confirmed first), date changes (re-priced, confirmed first)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext as _

from conversations.agent import knowledge, pms_access
from conversations.agent.handlers.booking import ask, degraded, stay_text
from conversations.agent.handlers.common import fmt_money, yes_no_options
from conversations.agent.handlers.rooms import room_name
from conversations.agent.nlu.text import normalize
from conversations.agent.types import Reply, TurnContext
from conversations.locks import LockNotAcquired, distributed_lock
from pms.base import Booking, PMSError, PMSNoAvailability, PMSNotFound, PMSUnavailable


def _ask_reference(ctx: TurnContext, flow: str) -> Reply:
    return ask(ctx, flow=flow, slot="booking_ref", text=_("Could you give me your booking reference? (e.g. SYM-7K3Q9)"))


def _find(ctx: TurnContext, flow: str) -> Booking | Reply:
    reference = ctx.slot("booking_ref")
    if not reference:
        return _ask_reference(ctx, flow)
    try:
        return pms_access.adapter(ctx.tenant).get_booking(str(reference))
    except PMSNotFound:
        return Reply(
            text=_("I can't find a booking with reference %(ref)s. Could you check it?") % {"ref": reference},
            language=ctx.language,
            pending={"action": "collect", "for": flow, "slot": "booking_ref"},
            remember={"booking_ref": None},
        )
    except PMSUnavailable:
        return degraded(ctx, "get_booking")


def _describe(ctx: TurnContext, booking: Booking) -> str:
    return _("%(room)s, %(stay)s, under the name %(name)s. Total: %(total)s.") % {
        "room": room_name(booking.room_type, ctx.language),
        "stay": stay_text(ctx, booking.check_in, booking.check_out, booking.adults, booking.children),
        "name": booking.guest.name,
        "total": fmt_money(booking.total_price, booking.currency, ctx.language),
    }


def handle_reservation_status(ctx: TurnContext) -> Reply:
    found = _find(ctx, "reservation_status")
    if isinstance(found, Reply):
        return found
    if found.status == "cancelled":
        lead = _("Booking %(ref)s is cancelled.") % {"ref": found.reference}
    else:
        lead = _("Booking %(ref)s is confirmed:") % {"ref": found.reference}
    return Reply(
        text=f"{lead} {_describe(ctx, found)}", language=ctx.language, remember={"booking_ref": found.reference}
    )


# "¿Puedo cancelar gratis?", "can I cancel my booking for free?": a question about the terms, asked on the way to
# cancelling. Folded text.
_TERMS_QUESTION = re.compile(
    r"\b(politica|policy|free|gratis|de graca|sin (coste|costo|pagar|cargo)|sem (custo|pagar)|without (paying|a fee)|"
    r"refund\w*|reembols\w*|fee|fees|multa|penaliza\w*|penalty|cobr\w*|charged?|devolu\w*|devuelven|money back)\b"
)


def _with_terms(ctx: TurnContext, reply: Reply) -> Reply:
    """``reply`` preceded by the hotel's cancellation policy when the guest asked about it."""
    if not _TERMS_QUESTION.search(normalize(ctx.text)):
        return reply
    policy = knowledge.answer(ctx.tenant, topic="cancellation_policy", language=ctx.language)
    return dataclasses.replace(reply, text=f"{policy}\n\n{reply.text}") if policy else reply


def handle_cancel_reservation(ctx: TurnContext) -> Reply:
    return _with_terms(ctx, _cancel_reservation(ctx))


def _cancel_reservation(ctx: TurnContext) -> Reply:
    found = _find(ctx, "cancel_reservation")
    if isinstance(found, Reply):
        return found
    if found.status == "cancelled":
        return Reply(text=_("Booking %(ref)s is already cancelled.") % {"ref": found.reference}, language=ctx.language)
    return Reply(
        text=_("Booking %(ref)s: %(details)s Do you want me to cancel it?")
        % {"ref": found.reference, "details": _describe(ctx, found)},
        language=ctx.language,
        options=yes_no_options(),
        pending={"action": "confirm_cancel", "booking_ref": found.reference},
        remember={"booking_ref": found.reference},
    )


def confirm_cancel(ctx: TurnContext, pending: dict[str, Any]) -> Reply:
    try:
        booking = pms_access.adapter(ctx.tenant).cancel_booking(pending["booking_ref"])
    except PMSUnavailable:
        return degraded(ctx, "cancel_booking")
    except PMSError as exc:
        return Reply(text=_("I couldn't cancel it: %(reason)s.") % {"reason": str(exc)}, language=ctx.language)
    return Reply(
        text=_("Your booking %(ref)s has been cancelled. We hope to see you another time!")
        % {"ref": booking.reference},
        language=ctx.language,
    )


# "¿Puedo añadir el desayuno a mi reserva?", "can we add parking?": an extra for the stay, not new dates. The PMS
# adapter changes dates only, so reception adds it; the guest gets the hotel's answer about it (price, hours) first.
_ADD_EXTRA = re.compile(
    r"\b(add|adding|include|including|anadir|anadimos|anade|agregar|agrega|incluir|incluye|sumar|"
    r"adicionar|adiciona|acrescentar|acrescenta|incluem|contratar)\b"
)
_EXTRA_TOPICS = frozenset({"breakfast", "parking", "pets", "spa", "shuttle", "restaurant", "children_policy"})


_CHANGE_DATES = re.compile(r"\b(change|move|cambiar|cambia|mover|adelantar|retrasar|alterar|altera|mudar|muda)\b")


def _extra_requested(ctx: TurnContext) -> str | None:
    """The knowledge topic of the extra this message asks to add to a booking ("I booked for next weekend, can I add
    breakfast?": the dates there are the booking's, not new ones), unless it also asks to change the dates."""
    text = normalize(ctx.text)
    if not _ADD_EXTRA.search(text) or _CHANGE_DATES.search(text):
        return None
    topic = knowledge.topic_for(ctx.text, ctx.language)
    return topic if topic in _EXTRA_TOPICS else None


def _offer_extra(ctx: TurnContext, topic: str) -> Reply:
    info = knowledge.answer(ctx.tenant, topic=topic, language=ctx.language) or ""
    question = _("Shall I ask reception to add it to your booking? They will confirm it.")
    return Reply(
        text=f"{info}\n\n{question}" if info else question,
        language=ctx.language,
        options=yes_no_options(),
        pending={"action": "confirm_stay_request", "kind": "booking_extra"},
    )


def handle_modify_reservation(ctx: TurnContext) -> Reply:
    extra = _extra_requested(ctx)
    if extra:
        return _offer_extra(ctx, extra)
    found = _find(ctx, "modify_reservation")
    if isinstance(found, Reply):
        return found
    if found.status == "cancelled":
        return Reply(text=_("Booking %(ref)s is cancelled, so it can't be changed.") % {"ref": found.reference},
                     language=ctx.language)  # fmt: skip
    # Only what this message says: the session still holds the booking's own dates, and its old check-out with a
    # new check-in ("cámbiala al 20 de marzo") would be refused as a departure before the arrival.
    said = ctx.nlu.entities
    new_in, new_out, nights = said.get("check_in"), said.get("check_out"), said.get("nights")
    if new_in and not new_out:
        # the new arrival keeps the stay's length unless the guest gave one
        given = isinstance(nights, int) and nights > 0
        new_out = new_in + (dt.timedelta(days=nights) if given else found.check_out - found.check_in)
    if not new_in:
        return ask(
            ctx,
            flow="modify_reservation",
            slot="dates",
            text=_("Your booking: %(details)s What are the new dates?") % {"details": _describe(ctx, found)},
        )
    if new_in < ctx.today or new_out <= new_in:
        return ask(
            ctx, flow="modify_reservation", slot="dates", text=_("Those dates are not valid. What are the new dates?")
        )
    pms = pms_access.adapter(ctx.tenant)
    try:
        offers = pms.availability(new_in, new_out, found.adults, found.children, room_type=found.room_type.code)
    except PMSUnavailable:
        return degraded(ctx, "availability")
    except PMSError:
        offers = []
    offer = next((o for o in offers if o.room_type.code == found.room_type.code), None)
    stay = stay_text(ctx, new_in, new_out, found.adults, found.children)
    if offer is None:
        return Reply(
            text=_("I'm sorry, your room type is not available %(stay)s. Would you like other dates?") % {"stay": stay},
            language=ctx.language,
            pending={"action": "collect", "for": "modify_reservation", "slot": "dates"},
        )
    return Reply(
        text=_("I can change booking %(ref)s to %(stay)s. New total: %(total)s (before: %(old)s). Shall I change it?")
        % {
            "ref": found.reference,
            "stay": stay,
            "total": fmt_money(offer.total_price, offer.currency, ctx.language),
            "old": fmt_money(found.total_price, found.currency, ctx.language),
        },
        language=ctx.language,
        options=yes_no_options(),
        pending={
            "action": "confirm_modify",
            "booking_ref": found.reference,
            "room_type": found.room_type.code,
            "check_in": new_in.isoformat(),
            "check_out": new_out.isoformat(),
        },
    )


def confirm_modify(ctx: TurnContext, pending: dict[str, Any]) -> Reply:
    pms = pms_access.adapter(ctx.tenant)
    try:
        with distributed_lock(tenant_id=ctx.tenant.pk, resource=f"booking:{pending['room_type']}", timeout=30, wait=10):
            booking = pms.modify_booking(
                pending["booking_ref"],
                check_in=dt.date.fromisoformat(pending["check_in"]),
                check_out=dt.date.fromisoformat(pending["check_out"]),
            )
    except PMSNoAvailability:
        return Reply(
            text=_("I'm sorry, those dates have just sold out. Would you like other dates?"),
            language=ctx.language,
            pending={"action": "collect", "for": "modify_reservation", "slot": "dates"},
        )
    except (PMSUnavailable, LockNotAcquired):
        return degraded(ctx, "modify_booking")
    except PMSError as exc:
        return Reply(text=_("I couldn't change it: %(reason)s.") % {"reason": str(exc)}, language=ctx.language)
    return Reply(
        text=_("Done! Booking %(ref)s is now %(details)s")
        % {"ref": booking.reference, "details": _describe(ctx, booking)},
        language=ctx.language,
    )
