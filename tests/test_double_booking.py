"""No double booking: N guests confirm the last free room at the same moment, through the whole chat pipeline
(NLU → orchestrator → lock on the room type → mock PMS with row locks), on real PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from conversations.models import Conversation
from conversations.simulator import Rehearsal
from pms.models import BookingStatus, MockBooking
from tests.conftest import REAL_POSTGRES, REAL_REDIS
from tests.factories import TenantFactory
from tests.pms_factories import MockRoomTypeFactory

GUESTS = 5
NAMES = ("Ana García", "Luis Pérez", "Marta Gómez", "Jorge Díaz", "Sofía Ruiz")
SOLD_OUT = "I'm sorry, that room has just sold out for those dates."

pytestmark = pytest.mark.skipif(
    not (REAL_POSTGRES and REAL_REDIS), reason="needs a PostgreSQL DATABASE_URL and REDIS_URL"
)


def _date_es(day: dt.date) -> str:
    months = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre")  # fmt: skip
    return f"{day.day} de {months[day.month - 1]}"


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_book_the_last_room_exactly_once():
    # given: a hotel with one room left of its only room type, and N guests each at the "shall I confirm?" step
    tenant = TenantFactory(slug="ultima-habitacion", name="Hotel Última", default_language="es")
    room = MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=1, weekday_rate=Decimal("90.00"),
                               weekend_rate=Decimal("90.00"))  # fmt: skip
    check_in = dt.date.today() + dt.timedelta(days=40)
    check_out = check_in + dt.timedelta(days=2)
    rehearsals = []
    for n in range(GUESTS):
        rehearsal = Rehearsal(tenant=tenant, guest=f"3460000{n:04d}", name=f"Huésped {n}")
        turns = [
            rehearsal.send(
                f"Hola, quiero reservar una habitación del {_date_es(check_in)} al {_date_es(check_out)} para 2 adultos"
            ),
            rehearsal.send(NAMES[n]),  # the only room type is not asked for: the summary names it
            rehearsal.send(f"guest{n}@example.com"),
        ]
        assert turns[-1].reply is not None
        session = Conversation.objects.get(guest__address=rehearsal.guest).session
        assert session.pending.get("action") == "confirm_booking", [t.as_dict() for t in turns]
        assert session.pending["room_type"] == room.code
        rehearsals.append(rehearsal)

    # when: all of them say "yes" at the same moment
    barrier = threading.Barrier(GUESTS)
    replies: list[str | None] = [None] * GUESTS
    errors: list[BaseException] = []

    def confirm(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            replies[index] = rehearsals[index].send("sí, confirmo").reply
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(GUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then: exactly one booking; everybody else was told, politely, that it has just sold out
    assert errors == []
    bookings = MockBooking.objects.filter(tenant=tenant, status=BookingStatus.CONFIRMED)
    assert bookings.count() == 1
    booking = bookings.get()
    assert (booking.check_in, booking.check_out, booking.adults) == (check_in, check_out, 2)
    with translation.override("es"):
        sold_out = gettext(SOLD_OUT)
    winners = [r for r in replies if r and booking.reference in r]
    losers = [r for r in replies if r and sold_out in r]
    assert len(winners) == 1
    assert len(losers) == GUESTS - 1
