"""Demo data for the mock PMS: a seaside hotel with six room types, es/en/pt names and descriptions.

``pms_seed_demo(tenant)`` is idempotent: room types are created or updated by code, bookings are never touched,
an existing PMS configuration is kept.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction

from pms.models import MockRoomType
from pms.resilience import invalidate_catalog
from pms.services import pms_config_ensure
from tenants.models import Tenant

WEEKEND_UPLIFT = Decimal("1.15")
HIGH_SEASON = ("07-01", "08-31")
HIGH_SEASON_MULTIPLIER = Decimal("1.30")

DEMO_ROOM_TYPES: list[dict[str, Any]] = [
    {
        "code": "IND",
        "names": {"es": "Individual", "en": "Single room", "pt": "Quarto individual"},
        "descriptions": {
            "es": "Habitación acogedora para una persona, con cama de 105 cm, escritorio y baño con ducha.",
            "en": "A cosy room for one, with a 105 cm bed, a desk and a bathroom with shower.",
            "pt": "Quarto acolhedor para uma pessoa, com cama de 105 cm, secretária e casa de banho com duche.",
        },
        "amenities": ["wifi", "air-conditioning", "tv", "desk", "shower"],
        "max_adults": 1,
        "max_children": 0,
        "max_occupancy": 1,
        "room_count": 4,
        "weekday_rate": Decimal("70.00"),
    },
    {
        "code": "DBL",
        "names": {"es": "Doble Estándar", "en": "Standard Double", "pt": "Duplo Standard"},
        "descriptions": {
            "es": "Habitación doble con cama de matrimonio de 150 cm, vistas a la ciudad y cuna bajo petición.",
            "en": "Double room with a 150 cm double bed, city views and a cot on request.",
            "pt": "Quarto duplo com cama de casal de 150 cm, vista para a cidade e berço a pedido.",
        },
        "amenities": ["wifi", "air-conditioning", "tv", "safe", "hairdryer", "cot-on-request"],
        "max_adults": 2,
        "max_children": 1,
        "max_occupancy": 3,
        "room_count": 10,
        "weekday_rate": Decimal("95.00"),
    },
    {
        "code": "DBL-SEA",
        "names": {
            "es": "Doble Superior con vistas al mar",
            "en": "Superior Double with sea view",
            "pt": "Duplo Superior com vista mar",
        },
        "descriptions": {
            "es": "Doble amplia con balcón privado frente al Mediterráneo, cama king size y cafetera.",
            "en": "A spacious double with a private balcony facing the Mediterranean, a king-size bed and a coffee "
            "machine.",
            "pt": "Duplo espaçoso com varanda privada virada para o Mediterrâneo, cama king size e máquina de café.",
        },
        "amenities": ["wifi", "air-conditioning", "tv", "safe", "minibar", "sea-view", "balcony", "coffee-machine"],
        "max_adults": 2,
        "max_children": 1,
        "max_occupancy": 3,
        "room_count": 6,
        "weekday_rate": Decimal("135.00"),
    },
    {
        "code": "TWIN",
        "names": {"es": "Twin", "en": "Twin room", "pt": "Quarto twin"},
        "descriptions": {
            "es": "Dos camas individuales de 90 cm, ideal para amigos o compañeros de viaje.",
            "en": "Two 90 cm single beds, ideal for friends or colleagues travelling together.",
            "pt": "Duas camas individuais de 90 cm, ideal para amigos ou colegas de viagem.",
        },
        "amenities": ["wifi", "air-conditioning", "tv", "safe", "hairdryer"],
        "max_adults": 2,
        "max_children": 0,
        "max_occupancy": 2,
        "room_count": 5,
        "weekday_rate": Decimal("95.00"),
    },
    {
        "code": "FAM",
        "names": {"es": "Familiar", "en": "Family room", "pt": "Quarto familiar"},
        "descriptions": {
            "es": "Dos ambientes: cama de matrimonio y sofá cama para dos niños, con nevera y bañera.",
            "en": "Two areas: a double bed and a sofa bed for two children, with a fridge and a bathtub.",
            "pt": "Dois ambientes: cama de casal e sofá-cama para duas crianças, com frigorífico e banheira.",
        },
        "amenities": ["wifi", "air-conditioning", "tv", "safe", "fridge", "sofa-bed", "bathtub"],
        "max_adults": 3,
        "max_children": 3,
        "max_occupancy": 4,
        "room_count": 3,
        "weekday_rate": Decimal("165.00"),
    },
    {
        "code": "SUITE-JR",
        "names": {"es": "Suite Junior", "en": "Junior Suite", "pt": "Suíte Júnior"},
        "descriptions": {
            "es": "Suite con salón, terraza con vistas al mar, bañera de hidromasaje y albornoces.",
            "en": "A suite with a lounge, a sea-view terrace, a whirlpool bath and bathrobes.",
            "pt": "Suíte com sala de estar, terraço com vista mar, banheira de hidromassagem e roupões.",
        },
        "amenities": [
            "wifi",
            "air-conditioning",
            "tv",
            "safe",
            "minibar",
            "sea-view",
            "terrace",
            "whirlpool-bath",
            "bathrobes",
            "coffee-machine",
        ],
        "max_adults": 2,
        "max_children": 2,
        "max_occupancy": 3,
        "room_count": 2,
        "weekday_rate": Decimal("260.00"),
    },
]


def _weekend_rate(weekday_rate: Decimal) -> Decimal:
    return (weekday_rate * WEEKEND_UPLIFT).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def pms_seed_demo(tenant: Tenant) -> dict[str, int]:
    """Create or refresh the demo hotel's mock PMS; returns ``{"created": n, "updated": m}`` room types."""
    created = updated = 0
    with transaction.atomic():
        pms_config_ensure(
            tenant=tenant,
            currency="EUR",
            check_in_time=dt.time(15, 0),
            check_out_time=dt.time(12, 0),
            late_checkout_until=dt.time(14, 0),
            late_checkout_fee=Decimal("20.00"),
            early_checkin_from=dt.time(11, 0),
            early_checkin_fee=Decimal("15.00"),
        )
        for order, spec in enumerate(DEMO_ROOM_TYPES):
            fields = {k: v for k, v in spec.items() if k != "code"}
            fields.update(
                weekend_rate=_weekend_rate(spec["weekday_rate"]),
                season_start=HIGH_SEASON[0],
                season_end=HIGH_SEASON[1],
                season_multiplier=HIGH_SEASON_MULTIPLIER,
                currency="EUR",
                taxes_included=True,
                is_active=True,
                sort_order=order,
            )
            _, was_created = MockRoomType.objects.update_or_create(tenant=tenant, code=spec["code"], defaults=fields)
            created += was_created
            updated += not was_created
    invalidate_catalog(tenant.pk)
    return {"created": created, "updated": updated}
