"""The durable record of a guest's "yes" to a booking (``BookingAttempt``), so that no message ever books twice.

``booking_attempt_claim`` commits a ``started`` row *before* the PMS is called; the call's outcome is then written
with ``booking_attempt_mark_booked`` / ``_failed`` / ``_unknown``. A turn replayed later (its reply was lost, the
worker was killed) finds the row: ``booked`` answers with the same booking, ``started`` or ``unknown`` means the PMS
may have booked and only staff can tell, ``failed`` may be tried again. Callers hold the booking lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.models import BookingAttempt, BookingAttemptStatus, Message
from pms.base import Booking, PMSAdapter, PMSError, PMSNotFound
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

UNRESOLVED = (BookingAttemptStatus.STARTED, BookingAttemptStatus.UNKNOWN)


@dataclass(frozen=True)
class Claim:
    attempt: BookingAttempt
    # True: this run owns the attempt (new, or a failed one tried again) and must call the PMS.
    # False: an earlier run got there first; ``attempt.status`` says what it left.
    proceed: bool


def booking_attempt_claim(
    *,
    tenant: Tenant,
    message: Message,
    room_type: str,
    check_in: dt.date,
    check_out: dt.date,
    adults: int,
    children: int,
    guest_name: str,
) -> Claim:
    """Start the attempt for ``message`` (or restart a ``failed`` one), committed when this returns.

    Not claimed (``proceed=False``): the message's own attempt is ``booked``, ``started`` or ``unknown``; or another
    attempt of the same conversation for overlapping dates is still unresolved (``started``/``unknown``), which is
    returned instead: until staff settle it, those dates are not booked again, whatever message says yes.

    Refuses to run inside an atomic block: the row must survive a crash during the PMS call, and inside a
    transaction it would roll back with it."""
    if connection.in_atomic_block:
        raise RuntimeError(
            "booking_attempt_claim must run outside any transaction: the attempt has to be committed before the "
            "PMS is called, or a crash during the call would roll it back and a replay would book twice"
        )
    if message.pk is None or message.tenant_id != tenant.pk:
        raise ValueError("a booking attempt needs a saved message of the same tenant")
    details = {
        "room_type": room_type,
        "check_in": check_in,
        "check_out": check_out,
        "adults": adults,
        "children": children,
        "guest_name": guest_name[:255],
    }
    try:
        with transaction.atomic():
            attempt = BookingAttempt.objects.for_tenant(tenant).select_for_update().filter(message=message).first()
            if attempt is not None and attempt.status != BookingAttemptStatus.FAILED:
                return Claim(attempt, proceed=False)
            unresolved = booking_attempt_unresolved_in_conversation(
                tenant=tenant, conversation_id=message.conversation_id, check_in=check_in, check_out=check_out
            )
            if unresolved is not None:
                return Claim(unresolved, proceed=False)
            if attempt is None:
                attempt = BookingAttempt.objects.create(tenant=tenant, message=message, **details)
                return Claim(attempt, proceed=True)
            for field, value in details.items():
                setattr(attempt, field, value)
            attempt.status, attempt.error = BookingAttemptStatus.STARTED, ""
            attempt.save(update_fields=[*details, "status", "error", "updated_at"])
            return Claim(attempt, proceed=True)
    except IntegrityError:  # a concurrent run inserted it first (callers hold the lock, so only if it expired)
        return Claim(BookingAttempt.objects.for_tenant(tenant).get(message=message), proceed=False)


def booking_attempt_mark_booked(*, attempt: BookingAttempt, booking: Booking) -> None:
    """The PMS confirmed the booking: keep what a replay needs to answer with it."""
    _update(
        attempt,
        status=BookingAttemptStatus.BOOKED,
        reference=booking.reference[:64],
        total_price=booking.total_price,
        currency=booking.currency[:3],
        error="",
    )


def booking_attempt_mark_failed(*, attempt: BookingAttempt, error: str) -> None:
    """A definitive refusal (no availability, a business error, the breaker open: nothing was booked)."""
    _update(attempt, status=BookingAttemptStatus.FAILED, error=error[:200], only_from=(BookingAttemptStatus.STARTED,))


def booking_attempt_mark_unknown(*, attempt: BookingAttempt, error: str) -> None:
    """The request may have reached the PMS and been applied (timeout, 5xx, a run that died mid-call). Only from
    ``started``: a run that outlived its lock and has since written ``booked`` keeps it."""
    if attempt.status == BookingAttemptStatus.STARTED:
        logger.warning("booking_outcome_unknown", attempt_id=attempt.pk, message_id=attempt.message_id, error=error)
        _update(
            attempt, status=BookingAttemptStatus.UNKNOWN, error=error[:200], only_from=(BookingAttemptStatus.STARTED,)
        )


def booking_attempt_settle_not_booked(*, attempt: BookingAttempt, by: str) -> bool:
    """Staff checked the PMS and found no booking for an unresolved attempt: it becomes ``failed``, so the guest
    can book those dates again. (One that *was* booked stays ``unknown``, and keeps blocking a second booking of
    overlapping dates in its conversation.) False when it was not unresolved."""
    settled = _update(
        attempt,
        status=BookingAttemptStatus.FAILED,
        error=f"not in the PMS (checked by {by})"[:200],
        only_from=UNRESOLVED,
    )
    if settled:
        logger.info("booking_attempt_settled", attempt_id=attempt.pk, by=by)
    return settled


class SettleRefused(Exception):
    """Why a staff member's "it is booked as REF" cannot be recorded (shown to them as is)."""


def booking_attempt_verify_in_pms(*, attempt: BookingAttempt, reference: str, pms: PMSAdapter) -> Booking:
    """The PMS's booking ``reference``, once it is known to be this attempt's stay (same room type and dates, not
    cancelled); ``SettleRefused`` otherwise. Nothing is written: staff may be reading the wrong reference."""
    if attempt.status not in UNRESOLVED:
        raise SettleRefused(_("This booking attempt is already settled."))
    reference = reference.strip()
    try:
        booking = pms.get_booking(reference)
    except PMSNotFound:
        raise SettleRefused(_("The PMS has no booking %(ref)s.") % {"ref": reference}) from None
    except PMSError as exc:
        raise SettleRefused(_("The PMS could not be asked (%(error)s): try again.") % {"error": exc}) from None
    same_stay = (booking.room_type.code, booking.check_in, booking.check_out) == (
        attempt.room_type,
        attempt.check_in,
        attempt.check_out,
    )
    if not same_stay or booking.status != "confirmed":
        raise SettleRefused(
            _("Booking %(ref)s is %(room)s, %(check_in)s → %(check_out)s (%(status)s): not this attempt's stay.")
            % {
                "ref": booking.reference,
                "room": booking.room_type.code,
                "check_in": booking.check_in,
                "check_out": booking.check_out,
                "status": booking.status,
            }
        )
    return booking


def booking_attempt_settle_booked(*, attempt: BookingAttempt, booking: Booking, by: str) -> bool:
    """Staff found the stay in the PMS (``booking_attempt_verify_in_pms``): record it as booked, with the PMS's
    reference and total. False when the attempt was settled meanwhile."""
    settled = _update(
        attempt,
        status=BookingAttemptStatus.BOOKED,
        reference=booking.reference[:64],
        total_price=booking.total_price,
        currency=booking.currency[:3],
        error=f"found in the PMS (checked by {by})"[:200],
        only_from=UNRESOLVED,
    )
    if settled:
        logger.info("booking_attempt_settled_booked", attempt_id=attempt.pk, reference=booking.reference, by=by)
    return settled


def booking_attempt_unresolved_in_conversation(
    *, tenant: Tenant, conversation_id: object, check_in: dt.date, check_out: dt.date
) -> BookingAttempt | None:
    """The oldest attempt of the conversation for overlapping dates whose outcome nobody knows yet (``started`` or
    ``unknown``): the guest may already have that booking."""
    return (
        BookingAttempt.objects.for_tenant(tenant)
        .filter(
            message__conversation_id=conversation_id,
            status__in=UNRESOLVED,
            check_in__lt=check_out,
            check_out__gt=check_in,
        )
        .order_by("created_at", "pk")
        .first()
    )


def _update(attempt: BookingAttempt, *, only_from: tuple[str, ...] = (), **values: object) -> bool:
    """Write ``values`` (only if the row's status is one of ``only_from``, when given); the instance follows the
    row either way. True when the row was written."""
    now = timezone.now()
    rows = BookingAttempt.objects.filter(pk=attempt.pk, tenant_id=attempt.tenant_id)
    if only_from:
        rows = rows.filter(status__in=only_from)
    if not rows.update(**values, updated_at=now):
        attempt.refresh_from_db()
        return False
    for field, value in values.items():
        setattr(attempt, field, value)
    attempt.updated_at = now
    return True
