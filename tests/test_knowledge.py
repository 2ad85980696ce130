"""Hotel knowledge: answers with their language fallback, tenant scoping, reception hours, the topic matcher and
the demo seed."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.knowledge import (
    LANGUAGES,
    hotel_profile_for,
    hours_contain,
    is_within_business_hours,
    knowledge_answer,
    knowledge_seed_demo,
    normalize,
    topic_for_text,
    topics_for_text,
)
from tenants.knowledge_seed import DEMO_ANSWERS, DEMO_PROFILE
from tenants.models import HotelProfile, KnowledgeEntry, KnowledgeTopic
from tests.factories import TenantFactory

UTC = dt.UTC


@pytest.fixture
def hotel(db):
    return TenantFactory(slug="sol", default_language="es", timezone="Europe/Madrid")


@pytest.fixture
def other_hotel(db):
    return TenantFactory(slug="otro", default_language="en", timezone="Europe/Madrid")


def entry(tenant, topic, language, answer):
    return KnowledgeEntry.objects.create(tenant=tenant, topic=topic, language=language, answer=answer)


# --- answers --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_answer_in_the_requested_language(hotel):
    entry(hotel, "wifi", "es", "Red: Sol")
    entry(hotel, "wifi", "en", "Network: Sol")

    assert knowledge_answer(tenant=hotel, topic="wifi", language="en") == "Network: Sol"
    assert knowledge_answer(tenant=hotel, topic="wifi", language="es") == "Red: Sol"


@pytest.mark.django_db
def test_answer_falls_back_to_the_hotels_language(hotel):
    entry(hotel, "parking", "es", "Garaje 18 €")
    entry(hotel, "parking", "en", "Garage €18")

    assert knowledge_answer(tenant=hotel, topic="parking", language="pt") == "Garaje 18 €"


@pytest.mark.django_db
def test_answer_falls_back_to_any_language(hotel):
    entry(hotel, "pool", "pt", "Piscina no terraço")

    assert knowledge_answer(tenant=hotel, topic="pool", language="en") == "Piscina no terraço"


@pytest.mark.django_db
def test_any_language_fallback_is_deterministic(hotel):
    entry(hotel, "gym", "pt", "Academia")
    entry(hotel, "gym", "en", "Gym")

    assert knowledge_answer(tenant=hotel, topic="gym", language="fr") == "Gym"  # es, en, pt order


@pytest.mark.django_db
def test_blank_answers_do_not_count(hotel):
    entry(hotel, "spa", "en", "   ")
    entry(hotel, "spa", "es", "Spa de 10 a 21")

    assert knowledge_answer(tenant=hotel, topic="spa", language="en") == "Spa de 10 a 21"


@pytest.mark.django_db
def test_no_answer_is_none(hotel):
    entry(hotel, "wifi", "es", "Red: Sol")

    assert knowledge_answer(tenant=hotel, topic="parking", language="es") is None


@pytest.mark.django_db
def test_no_tenant_is_none_without_a_query(hotel, django_assert_num_queries):
    entry(hotel, "wifi", "es", "Red: Sol")

    with django_assert_num_queries(0):
        assert knowledge_answer(tenant=None, topic="wifi", language="es") is None
    assert list(KnowledgeEntry.objects.for_tenant(None)) == []


@pytest.mark.django_db
def test_a_hotel_never_gets_another_hotels_answer(hotel, other_hotel):
    entry(hotel, "wifi", "es", "Red: Sol")
    entry(hotel, "pets", "en", "Dogs welcome")
    entry(other_hotel, "pets", "en", "No pets, sorry")

    assert knowledge_answer(tenant=other_hotel, topic="wifi", language="es") is None
    assert knowledge_answer(tenant=other_hotel.pk, topic="wifi", language="en") is None
    assert knowledge_answer(tenant=other_hotel, topic="pets", language="en") == "No pets, sorry"
    assert knowledge_answer(tenant=hotel, topic="pets", language="en") == "Dogs welcome"
    assert list(KnowledgeEntry.objects.for_tenant(other_hotel).values_list("answer", flat=True)) == ["No pets, sorry"]


@pytest.mark.django_db
def test_a_tenant_id_works_like_the_tenant(hotel):
    entry(hotel, "wifi", "es", "Red: Sol")

    assert knowledge_answer(tenant=hotel.pk, topic="wifi", language="pt") == "Red: Sol"
    assert knowledge_answer(tenant=987654, topic="wifi", language="es") is None


def test_an_unknown_topic_is_a_programming_error():
    with pytest.raises(ValueError, match='Unknown knowledge topic "minibar"'):
        knowledge_answer(tenant=None, topic="minibar", language="es")


# --- profile ------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_profile_is_per_hotel(hotel, other_hotel):
    profile = HotelProfile.objects.create(tenant=hotel, city="Málaga")

    assert hotel_profile_for(hotel) == profile
    assert hotel_profile_for(hotel.pk) == profile
    assert hotel_profile_for(other_hotel) is None
    assert hotel_profile_for(None) is None


@pytest.mark.django_db
def test_profile_defaults(hotel):
    profile = HotelProfile.objects.create(tenant=hotel)

    assert (profile.check_in_time, profile.check_out_time) == (dt.time(15), dt.time(12))
    assert (profile.reception_opens, profile.reception_closes, profile.reception_24h) == (
        dt.time(8),
        dt.time(23),
        False,
    )
    assert profile.currency == "EUR"


# --- business hours -----------------------------------------------------------------------------------------------
def madrid(*args):
    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo("Europe/Madrid"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (madrid(2025, 1, 15, 7, 59), False),
        (madrid(2025, 1, 15, 8, 0), True),
        (madrid(2025, 1, 15, 22, 59), True),
        (madrid(2025, 1, 15, 23, 0), False),
        (madrid(2025, 1, 16, 3, 0), False),
        # the same walls seen from UTC: winter is UTC+1, summer UTC+2
        (dt.datetime(2025, 1, 15, 7, 30, tzinfo=UTC), True),
        (dt.datetime(2025, 1, 15, 6, 30, tzinfo=UTC), False),
        (dt.datetime(2025, 7, 15, 6, 30, tzinfo=UTC), True),
        (dt.datetime(2025, 7, 15, 21, 30, tzinfo=UTC), False),
    ],
)
def test_daytime_reception(hotel, at, open_):
    HotelProfile.objects.create(tenant=hotel, reception_opens=dt.time(8), reception_closes=dt.time(23))

    assert is_within_business_hours(hotel, at) is open_


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("hour", "open_"),
    [(19, False), (20, True), (23, True), (0, True), (1, True), (2, False), (12, False)],
)
def test_reception_hours_crossing_midnight(hotel, hour, open_):
    HotelProfile.objects.create(tenant=hotel, reception_opens=dt.time(20), reception_closes=dt.time(2))

    assert is_within_business_hours(hotel, madrid(2025, 3, 10, hour, 0)) is open_


@pytest.mark.django_db
def test_hours_follow_the_hotels_time_zone(db):
    # given two hotels open 08:00–23:00 on opposite sides of the Atlantic
    malaga = TenantFactory(timezone="Europe/Madrid")
    rio = TenantFactory(timezone="America/Sao_Paulo")
    for tenant in (malaga, rio):
        HotelProfile.objects.create(tenant=tenant, reception_opens=dt.time(8), reception_closes=dt.time(23))
    # when it is 10:30 UTC (11:30 in Málaga, 07:30 in Rio)
    at = dt.datetime(2025, 1, 15, 10, 30, tzinfo=UTC)

    # then
    assert is_within_business_hours(malaga, at) is True
    assert is_within_business_hours(rio, at) is False
    # and at 02:30 UTC (03:30 in Málaga, 23:30 the day before in Rio) both are closed
    assert is_within_business_hours(malaga, dt.datetime(2025, 1, 15, 2, 30, tzinfo=UTC)) is False
    assert is_within_business_hours(rio, dt.datetime(2025, 1, 15, 2, 30, tzinfo=UTC)) is False


@pytest.mark.django_db
def test_24h_reception_is_always_open(hotel):
    HotelProfile.objects.create(
        tenant=hotel, reception_24h=True, reception_opens=dt.time(8), reception_closes=dt.time(9)
    )

    assert all(is_within_business_hours(hotel, madrid(2025, 5, 1, h, 30)) for h in range(24))


@pytest.mark.django_db
def test_equal_opening_and_closing_times_mean_all_day(hotel):
    HotelProfile.objects.create(tenant=hotel, reception_opens=dt.time(0), reception_closes=dt.time(0))

    assert all(is_within_business_hours(hotel, madrid(2025, 5, 1, h, 0)) for h in range(24))


@pytest.mark.django_db
def test_without_profile_there_is_no_after_hours(hotel):
    assert is_within_business_hours(hotel, madrid(2025, 5, 1, 3, 0)) is True


@pytest.mark.django_db
def test_unknown_hotel_counts_as_closed():
    assert is_within_business_hours(987654, dt.datetime(2025, 5, 1, 12, tzinfo=UTC)) is False


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        is_within_business_hours(1, dt.datetime(2025, 5, 1, 12))


def test_hours_contain_edges():
    assert hours_contain(dt.time(8), dt.time(23), dt.time(8)) is True
    assert hours_contain(dt.time(8), dt.time(23), dt.time(23)) is False
    assert hours_contain(dt.time(22), dt.time(6), dt.time(5, 59, 59)) is True
    assert hours_contain(dt.time(22), dt.time(6), dt.time(6)) is False


# --- topic matcher ------------------------------------------------------------------------------------------------
TOPIC_CASES = [
    # es (es-ES, es-AR, es-MX)
    ("¿Cuál es la contraseña del wifi?", "es", "wifi"),
    ("contraseña del wi-fi porfa", "es", "wifi"),
    ("hay internet en las habitaciones?", "es", "wifi"),
    ("no me anda el guifi", "es", "wifi"),
    ("¿Tienen parking?", "es", "parking"),
    ("donde puedo aparcar el coche", "es", "parking"),
    ("se puede estacionar cerca? tienen cochera", "es", "parking"),
    ("tienen garage para el auto?", "es", "parking"),
    ("a qué hora es el desayuno?", "es", "breakfast"),
    ("el desayuno está incluido?", "es", "breakfast"),
    ("¿La piscina está abierta?", "es", "pool"),
    ("tienen pileta?", "es", "pool"),
    ("hay alberca en el hotel?", "es", "pool"),
    ("¿hay gimnasio?", "es", "gym"),
    ("tienen spa o sauna?", "es", "spa"),
    ("quiero reservar un masaje", "es", "spa"),
    ("¿Se admiten mascotas?", "es", "pets"),
    ("puedo ir con mi perro?", "es", "pets"),
    ("viajo con mi perrito chiquito", "es", "pets"),
    ("necesito factura a nombre de mi empresa", "es", "invoice"),
    ("me pueden hacer la factura con mi CIF", "es", "invoice"),
    ("tienen traslado desde el aeropuerto?", "es", "shuttle"),
    ("¿Me pueden recoger en el aeropuerto?", "es", "shuttle"),
    ("aeropuerto", "es", "shuttle"),
    ("¿Está lejos del aeropuerto?", "es", "location_distances"),
    ("¿Es accesible para silla de ruedas?", "es", "accessibility"),
    ("tienen habitaciones adaptadas para movilidad reducida", "es", "accessibility"),
    ("¿Puedo dejar el equipaje antes del check in?", "es", "luggage"),
    ("dónde guardo las valijas?", "es", "luggage"),
    ("¿Se puede fumar en el balcón?", "es", "smoking"),
    ("¿A qué hora es el check in?", "es", "checkin_checkout"),
    ("a que hora hay que dejar la habitacion", "es", "checkin_checkout"),
    ("hora de salida?", "es", "checkin_checkout"),
    ("¿Aceptan tarjeta?", "es", "payment"),
    ("se puede pagar en efectivo?", "es", "payment"),
    ("¿Cuál es la dirección del hotel?", "es", "location_directions"),
    ("¿dónde están ubicados?", "es", "location_directions"),
    ("cómo llego desde la estación", "es", "location_directions"),
    ("¿Está lejos de la playa?", "es", "location_distances"),
    ("cuanto se tarda andando al centro", "es", "location_distances"),
    ("¿Qué política de cancelación tienen?", "es", "cancellation_policy"),
    ("¿si cancelo me devuelven el dinero?", "es", "cancellation_policy"),
    ("¿Los niños pagan?", "es", "children_policy"),
    ("tienen cuna para el bebé?", "es", "children_policy"),
    ("¿El restaurante abre para cenar?", "es", "restaurant"),
    ("hay bar en el hotel", "es", "restaurant"),
    # en
    ("What's the wifi password?", "en", "wifi"),
    ("Is there free internet?", "en", "wifi"),
    ("Do you have parking?", "en", "parking"),
    ("where can I park my car", "en", "parking"),
    ("What time is breakfast?", "en", "breakfast"),
    ("Is the pool heated?", "en", "pool"),
    ("do you have a gym", "en", "gym"),
    ("can I book a massage", "en", "spa"),
    ("Are pets allowed?", "en", "pets"),
    ("is the hotel pet friendly", "en", "pets"),
    ("Can I bring my dog?", "en", "pets"),
    ("Can I get an invoice?", "en", "invoice"),
    ("Do you have an airport shuttle?", "en", "shuttle"),
    ("how do I get a transfer from the airport", "en", "shuttle"),
    ("Is the hotel wheelchair accessible?", "en", "accessibility"),
    ("Is there a lift?", "en", "accessibility"),
    ("Can you keep my luggage after checkout?", "en", "luggage"),
    ("Is smoking allowed?", "en", "smoking"),
    ("What time is check-out?", "en", "checkin_checkout"),
    ("when can we check in", "en", "checkin_checkout"),
    ("Do you accept credit cards?", "en", "payment"),
    ("can I pay cash", "en", "payment"),
    ("What's your address?", "en", "location_directions"),
    ("how do I get to the hotel", "en", "location_directions"),
    ("How far is the beach?", "en", "location_distances"),
    ("what's the distance to downtown", "en", "location_distances"),
    ("What's the cancellation policy?", "en", "cancellation_policy"),
    ("can I get a refund", "en", "cancellation_policy"),
    ("Do kids stay free?", "en", "children_policy"),
    ("do you have a crib", "en", "children_policy"),
    ("Is the restaurant open for dinner?", "en", "restaurant"),
    # pt-BR
    ("Qual é a senha do wifi?", "pt", "wifi"),
    ("tem internet no quarto?", "pt", "wifi"),
    ("Vocês têm estacionamento?", "pt", "parking"),
    ("tem garagem?", "pt", "parking"),
    ("O café da manhã está incluído?", "pt", "breakfast"),
    ("que horas é o cafe da manha", "pt", "breakfast"),
    ("Tem piscina?", "pt", "pool"),
    ("tem academia no hotel?", "pt", "gym"),
    ("Posso levar meu cachorro?", "pt", "pets"),
    ("aceitam animais de estimação?", "pt", "pets"),
    ("Preciso de nota fiscal", "pt", "invoice"),
    ("Vocês têm translado do aeroporto?", "pt", "shuttle"),
    ("tem transfer pro aeroporto?", "pt", "shuttle"),
    ("O hotel é acessível para cadeirantes?", "pt", "accessibility"),
    ("Posso deixar a bagagem na recepção?", "pt", "luggage"),
    ("onde deixo as malas depois do checkout", "pt", "luggage"),
    ("Pode fumar no quarto?", "pt", "smoking"),
    ("Que horas é o check-in?", "pt", "checkin_checkout"),
    ("Aceitam Pix?", "pt", "payment"),
    ("posso pagar com cartão?", "pt", "payment"),
    ("Qual é o endereço?", "pt", "location_directions"),
    ("onde fica o hotel?", "pt", "location_directions"),
    ("como chegar ao hotel", "pt", "location_directions"),
    ("É longe da praia?", "pt", "location_distances"),
    ("fica perto do centro?", "pt", "location_distances"),
    ("Qual a política de cancelamento?", "pt", "cancellation_policy"),
    ("Crianças pagam?", "pt", "children_policy"),
    ("tem berço para bebê?", "pt", "children_policy"),
    ("o restaurante serve jantar?", "pt", "restaurant"),
    ("tem spa com massagem?", "pt", "spa"),
    # a late arrival is a check-in question (it was offered an early check-in)
    ("vamos a llegar muy tarde esta noche, ¿hay alguien?", "es", "checkin_checkout"),
    ("nuestro vuelo llega de madrugada", "es", "checkin_checkout"),
    ("we're arriving really late, around 2am", "en", "checkin_checkout"),
    ("is the front desk open after midnight?", "en", "checkin_checkout"),
    ("vou chegar bem tarde, lá pela meia-noite", "pt", "checkin_checkout"),
    # no topic
    ("hola", "es", None),
    ("quiero reservar una habitación doble", "es", None),
    ("thanks a lot!", "en", None),
    ("obrigado", "pt", None),
    ("", "es", None),
    ("👍", "en", None),
]


@pytest.mark.parametrize(("text", "language", "topic"), TOPIC_CASES, ids=[f"{c[1]}:{c[0][:40]}" for c in TOPIC_CASES])
def test_topic_for_text(text, language, topic):
    assert topic_for_text(text, language) == topic


def test_the_table_covers_every_topic_in_every_language():
    covered = {(language, topic) for _text, language, topic in TOPIC_CASES if topic}

    assert {(language, topic) for language in LANGUAGES for topic in KnowledgeTopic.values} <= covered
    assert len(TOPIC_CASES) >= 40


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("CONTRASEÑA DEL WI-FI", "es"),
        ("contrasena del wifi", "es"),
        ("Contraseña del Wifi!!!", None),
        ("contraseña del wifi", "fr"),
    ],
)
def test_matching_ignores_case_accents_punctuation_and_unknown_languages(text, language):
    assert topic_for_text(text, language) == "wifi"


def test_a_word_from_another_language_still_counts():
    assert topic_for_text("cuál es la password", "es") == "wifi"
    assert topic_for_text("tem parking?", "pt") == "parking"


def test_a_word_is_read_in_the_guests_language_first():
    # "malas" is suitcases in Portuguese, "bad" in Spanish
    assert topic_for_text("posso deixar as malas?", "pt") == "luggage"
    assert topic_for_text("las noticias son malas", "es") is None


def test_normalize():
    assert normalize("  ¿Contraseña   del Wi-Fi? ") == "contrasena del wi fi"
    assert normalize("Café da manhã, ação") == "cafe da manha acao"


# --- demo seed ----------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_demo_seed_is_complete(hotel):
    knowledge_seed_demo(hotel)

    found = set(KnowledgeEntry.objects.for_tenant(hotel).values_list("topic", "language"))
    assert found == {(t, lang) for t in KnowledgeTopic.values for lang in LANGUAGES}
    assert all(len(a.strip()) > 40 for a in KnowledgeEntry.objects.values_list("answer", flat=True))
    profile = hotel_profile_for(hotel)
    assert profile.city == "Málaga"
    assert profile.map_url.startswith("https://maps.google.com/?q=")
    assert (profile.check_in_time, profile.check_out_time) == (dt.time(15), dt.time(12))
    assert (profile.reception_opens, profile.reception_closes) == (dt.time(8), dt.time(23))
    for language in LANGUAGES:
        directions = knowledge_answer(tenant=hotel, topic="location_directions", language=language)
        assert profile.map_url in directions
        assert "Malagueta2025" in knowledge_answer(tenant=hotel, topic="wifi", language=language)


def test_demo_texts_cover_every_topic_and_language():
    assert set(DEMO_ANSWERS) == set(KnowledgeTopic.values)
    assert all(set(by_language) == set(LANGUAGES) for by_language in DEMO_ANSWERS.values())
    HotelProfile(**DEMO_PROFILE).clean_fields(exclude=["tenant"])


@pytest.mark.django_db
def test_demo_seed_is_idempotent_and_restores_edits(hotel, other_hotel):
    knowledge_seed_demo(hotel)
    KnowledgeEntry.objects.filter(tenant=hotel, topic="wifi", language="es").update(answer="editado")
    HotelProfile.objects.filter(tenant=hotel).update(city="Sevilla")

    knowledge_seed_demo(hotel)

    assert KnowledgeEntry.objects.for_tenant(hotel).count() == len(KnowledgeTopic.values) * len(LANGUAGES)
    assert HotelProfile.objects.count() == 1
    assert knowledge_answer(tenant=hotel, topic="wifi", language="es") == DEMO_ANSWERS["wifi"]["es"]
    assert hotel_profile_for(hotel).city == "Málaga"
    assert KnowledgeEntry.objects.for_tenant(other_hotel).count() == 0


# --- command ------------------------------------------------------------------------------------------------------
def run(*args: str) -> str:
    out = io.StringIO()
    call_command("knowledge", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_command_seed_answer_and_topic(hotel):
    assert run("seed-demo", "--tenant", "sol") == 'Hotel "sol": profile and 57 answers loaded.\n'
    assert run("answer", "pets", "--tenant", "sol", "--language", "en") == DEMO_ANSWERS["pets"]["en"] + "\n"
    assert run("answer", "pets", "--tenant", "sol") == DEMO_ANSWERS["pets"]["es"] + "\n"
    assert run("topic", "tem estacionamento?", "--language", "pt") == "parking\n"
    assert run("topic", "hola") == "(none)\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed-demo", "--tenant", "nope"], 'Unknown hotel "nope".'),
        (["answer", "wifi", "--tenant", "nope"], 'Unknown hotel "nope".'),
        (["answer", "wifi", "--tenant", "sol"], 'Hotel "sol" has no answer about wifi.'),
        (
            ["answer", "wifi", "--tenant", "sol", "--language", "fr"],
            'Unsupported language "fr": choose one of es, en, pt.',
        ),
        (["topic", "wifi?", "--language", "fr"], 'Unsupported language "fr": choose one of es, en, pt.'),
    ],
)
def test_command_errors_are_one_line_and_write_nothing(hotel, args, message):
    with pytest.raises(CommandError) as excinfo:
        run(*args)

    assert str(excinfo.value) == message
    assert KnowledgeEntry.objects.count() == 0
    assert HotelProfile.objects.count() == 0


def test_command_unknown_topic():
    with pytest.raises(CommandError, match=r'^Unknown topic "minibar": choose one of wifi, parking, '):
        run("answer", "minibar", "--tenant", "sol")


# --- admin --------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_admin_pages_open_with_filters_and_search(admin_client, hotel, other_hotel):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    knowledge_seed_demo(hotel)
    wifi = KnowledgeEntry.objects.get(tenant=hotel, topic="wifi", language="en")
    profile = hotel_profile_for(hotel)

    pages = [
        reverse("admin:tenants_knowledgeentry_changelist"),
        reverse("admin:tenants_knowledgeentry_changelist") + f"?tenant__id__exact={hotel.pk}&topic=wifi&language=en",
        reverse("admin:tenants_knowledgeentry_changelist") + "?q=Malagueta2025",
        reverse("admin:tenants_knowledgeentry_add"),
        reverse("admin:tenants_knowledgeentry_change", args=[wifi.pk]),
        reverse("admin:tenants_hotelprofile_changelist"),
        reverse("admin:tenants_hotelprofile_add"),
        reverse("admin:tenants_hotelprofile_change", args=[profile.pk]),
    ]
    assert [admin_client.get(url).status_code for url in pages] == [200] * len(pages)
    filtered = admin_client.get(pages[1]).context["cl"]
    assert [e.pk for e in filtered.result_list] == [wifi.pk]
    searched = admin_client.get(pages[2]).context["cl"]
    assert {(e.topic, e.language) for e in searched.result_list} == {("wifi", lang) for lang in LANGUAGES}


@pytest.mark.django_db
def test_admin_refuses_a_second_answer_for_the_same_topic_and_language(admin_client, hotel):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    entry(hotel, "wifi", "es", "Red: Sol")

    response = admin_client.post(
        reverse("admin:tenants_knowledgeentry_add"),
        {"tenant": hotel.pk, "topic": "wifi", "language": "es", "answer": "Otra"},
    )

    assert response.status_code == 200
    assert "This hotel already has an answer for this topic in this language." in response.content.decode()
    assert list(KnowledgeEntry.objects.values_list("answer", flat=True)) == ["Red: Sol"]


@pytest.mark.django_db
@pytest.mark.parametrize("model", [KnowledgeEntry, HotelProfile], ids=lambda m: m.__name__)
def test_admin_changelist_queries_do_not_grow_with_rows(admin_client, model):
    def make():
        tenant = TenantFactory()
        if model is HotelProfile:
            HotelProfile.objects.create(tenant=tenant)
        else:
            entry(tenant, "wifi", "es", "Red: Sol")

    url = reverse(f"admin:tenants_{model._meta.model_name}_changelist")
    make()
    with CaptureQueriesContext(connection) as one_row:
        assert admin_client.get(url).status_code == 200
    make()
    make()

    with CaptureQueriesContext(connection) as three_rows:
        response = admin_client.get(url)

    assert response.context["cl"].result_count == 3
    assert len(three_rows) == len(one_row)


@pytest.mark.parametrize(
    ("text", "language", "topics"),
    [
        ("what's the wifi password and is there a gym?", "en", ["wifi", "gym"]),
        ("Olá, qual o horário do check-out e posso deixar as malas depois?", "pt", ["checkin_checkout", "luggage"]),
        ("¿Tenéis parking? ¿Y piscina?", "es", ["parking", "pool"]),
        ("is there parking? and how far is the beach?", "en", ["parking", "location_distances"]),
        # one thing asked: exactly what topic_for_text says, words read together
        ("¿El desayuno está incluido y a qué hora es?", "es", ["breakfast"]),  # "a qué hora" is about the breakfast
        ("what time is breakfast?", "en", ["breakfast"]),
        ("¿Cuál es la contraseña del wifi?", "es", ["wifi"]),
        ("hola", "es", []),
    ],
)
def test_topics_for_text_gives_one_topic_per_question(text, language, topics):
    assert topics_for_text(text, language) == topics
