"""Hotel knowledge: per-hotel answers by topic and language, the hotel's profile and its reception hours.

    topic = topic_for_text("¿Cuál es la contraseña del wifi?", "es")          # "wifi"
    text = knowledge_answer(tenant=tenant, topic=topic, language="es")        # the hotel's answer or None
    is_within_business_hours(tenant, timezone.now())

Every read takes the tenant and fails closed without one. The demo hotel's answers live in
``tenants.knowledge_seed`` (``knowledge_seed_demo``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable

from django.db import transaction

from tenants.models import SUPPORTED_LANGUAGES, HotelProfile, KnowledgeEntry, KnowledgeTopic, Tenant

LANGUAGES = tuple(code for code, _label in SUPPORTED_LANGUAGES)


# --- selectors ------------------------------------------------------------------------------------------------
def _tenant_obj(tenant: Tenant | int | None) -> Tenant | None:
    if tenant is None or isinstance(tenant, Tenant):
        return tenant
    return Tenant.objects.filter(pk=tenant).first()


def knowledge_answer(*, tenant: Tenant | int | None, topic: str, language: str) -> str | None:
    """The hotel's answer about ``topic``: in ``language``, else in the hotel's default language, else in any
    language it has (es, en, pt order). ``None`` without a tenant or without an answer.

    An unknown topic is a programming error (``ValueError``).
    """
    if topic not in KnowledgeTopic.values:
        raise ValueError(f'Unknown knowledge topic "{topic}".')
    tenant = _tenant_obj(tenant)
    if tenant is None:
        return None
    answers = {
        entry_language: answer
        for entry_language, answer in KnowledgeEntry.objects.for_tenant(tenant)
        .filter(topic=topic)
        .values_list("language", "answer")
        if answer.strip()
    }
    for candidate in (language, tenant.default_language, *LANGUAGES):
        if candidate in answers:
            return answers[candidate]
    return None


def hotel_profile_for(tenant: Tenant | int | None) -> HotelProfile | None:
    """The hotel's profile, or ``None`` when it has none (or without a tenant)."""
    tenant = _tenant_obj(tenant)
    if tenant is None:
        return None
    return HotelProfile.objects.filter(tenant=tenant).select_related("tenant").first()


def hours_contain(opens: dt.time, closes: dt.time, moment: dt.time) -> bool:
    """``opens <= moment < closes``, where a range whose end is not after its start crosses midnight and equal
    ends mean the whole day."""
    if opens == closes:
        return True
    if opens < closes:
        return opens <= moment < closes
    return moment >= opens or moment < closes


def is_within_business_hours(tenant: Tenant | int, at: dt.datetime) -> bool:
    """Whether reception is open at ``at`` (an aware datetime), in the hotel's time zone.

    A hotel without a profile has no reception hours configured and counts as open: it never gets after-hours
    behaviour it did not ask for. An unknown tenant counts as closed.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be an aware datetime")
    tenant_obj = _tenant_obj(tenant)
    if tenant_obj is None:
        return False
    profile = hotel_profile_for(tenant_obj)
    if profile is None or profile.reception_24h:
        return True
    local = at.astimezone(zoneinfo.ZoneInfo(tenant_obj.timezone))
    return hours_contain(profile.reception_opens, profile.reception_closes, local.time().replace(tzinfo=None))


# --- services -------------------------------------------------------------------------------------------------
def knowledge_seed_demo(tenant: Tenant) -> HotelProfile:
    """Give ``tenant`` the demo hotel's profile and its answers to every topic in es, en and pt. Idempotent: rerun
    it to restore the demo texts."""
    from tenants.knowledge_seed import DEMO_ANSWERS, DEMO_PROFILE

    with transaction.atomic():
        profile, _created = HotelProfile.objects.update_or_create(tenant=tenant, defaults=DEMO_PROFILE)
        for topic, answers in DEMO_ANSWERS.items():
            for language, answer in answers.items():
                KnowledgeEntry.objects.update_or_create(
                    tenant=tenant, topic=topic, language=language, defaults={"answer": answer}
                )
    return profile


# --- topic matcher ----------------------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: "¿Contraseña del Wi-Fi?" → "contrasena del wi fi"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", stripped).split())


# (topic, {language or "*": patterns}). Checked in this order, first hit wins: specific amenities come before the
# generic cues ("a qué hora", "dónde", "cerca") that also appear in questions about them. Patterns are written
# for normalized text (no accents, no punctuation) and matched on word boundaries. Under "xx!" go false friends,
# words that only count when the guest writes language xx ("malas": suitcases in pt, "bad" in es).
_W = r"w+[iy]+ ?f+[iy]+"  # wifi, wi fi, wiffi, wify
_RULES: list[tuple[str, dict[str, list[str]]]] = [
    (
        KnowledgeTopic.WIFI,
        {
            "*": [_W, r"guifi", r"internet", r"wlan", r"hotspot"],
            "es": [r"contrasenas?", r"clave de (la )?red", r"conexion", r"red inalambrica"],
            "en": [r"password", r"passcode", r"network", r"online"],
            "pt": [r"senhas?", r"rede", r"conexao"],
        },
    ),
    (
        KnowledgeTopic.PARKING,
        {
            "*": [r"parking", r"garag(e|es|em)", r"valet"],
            "es": [
                r"aparca\w*",
                r"estaciona\w*",
                r"parquea\w*",
                r"parqueo",
                r"cochera",
                r"garaje",
                r"plaza de (garaje|parking|aparcamiento)",
                r"dejar el (coche|carro|auto)",
            ],
            "en": [r"car ?park", r"park(ing)? (my|the|our|a) (car|vehicle)", r"(i|we|you|to) park"],
            "pt": [r"estaciona\w*", r"vaga (de garagem|para (o )?carro)", r"deixar o carro"],
        },
    ),
    (
        KnowledgeTopic.BREAKFAST,
        {
            "*": [r"breakfast", r"brunch"],
            "es": [r"desayun\w*"],
            "pt": [r"cafe da manha", r"cafe manha"],
        },
    ),
    (
        KnowledgeTopic.POOL,
        {
            "*": [r"piscinas?"],
            "es": [r"pileta", r"alberca", r"banarse", r"nadar"],
            "en": [r"pools?", r"swim\w*"],
            "pt": [r"nadar"],
        },
    ),
    (
        KnowledgeTopic.GYM,
        {
            "*": [r"gym", r"fitness", r"crossfit"],
            "es": [r"gimnasio", r"gimnasia", r"hacer ejercicio", r"entrenar"],
            "en": [r"workout", r"exercise", r"weights", r"treadmill"],
            "pt": [r"academia", r"ginasio", r"malhar", r"musculacao"],
        },
    ),
    (
        KnowledgeTopic.SPA,
        {
            "*": [r"spa", r"sauna", r"jacuzzi", r"hammam", r"wellness"],
            "es": [r"masajes?", r"banera de hidromasaje", r"hidromasaje", r"bano turco", r"tratamientos?"],
            "en": [r"massages?", r"hot tub", r"steam room", r"treatments?"],
            "pt": [r"massage(m|ns)", r"hidromassagem", r"banho turco", r"ofuro"],
        },
    ),
    (
        KnowledgeTopic.PETS,
        {
            "*": [r"pets?", r"pet ?friendly"],
            "es": [r"mascotas?", r"perr(o|a|ito|ita)s?", r"gat(o|a|ito|ita)s?", r"animal(es)?", r"cachorr(o|a)s?"],
            "en": [r"dogs?", r"cats?", r"puppy", r"animals?"],
            "pt!": [r"cao", r"caes"],
            "pt": [
                r"cachorr(o|a|inho|inha)s?",
                r"gat(o|a|inho)s?",
                r"anima(l|is)",
                r"bichos?",
            ],
        },
    ),
    (
        KnowledgeTopic.INVOICE,
        {
            "*": [r"invoices?", r"recibos?"],
            "es": [r"factur\w*", r"datos fiscales", r"cif", r"nif"],
            "en": [r"receipts?", r"billing address", r"vat number"],
            "pt": [r"nota fiscal", r"fatura\w*", r"cnpj", r"cpf na nota"],
        },
    ),
    (
        KnowledgeTopic.CANCELLATION_POLICY,
        {
            "*": [r"cancel\w*", r"reembols\w*"],
            "en": [r"refund\w*", r"no ?show"],
            "pt": [r"estorno", r"devolu\w*"],
            "es": [r"devolu\w*", r"devuelven"],
        },
    ),
    (
        KnowledgeTopic.SHUTTLE,
        {
            "*": [r"shuttle", r"transfers?", r"traslados?", r"translados?"],
            "es": [r"recog(er|en|ida)", r"vienen a buscar", r"transporte"],
            "en": [r"pick (me |us )?up", r"pickup", r"airport (bus|car|ride|transport)", r"give (me|us) a lift"],
            "pt": [r"buscar no aeroporto", r"transporte"],
        },
    ),
    (
        KnowledgeTopic.ACCESSIBILITY,
        {
            "*": [r"accesib\w*", r"acessib\w*", r"accessib\w*", r"acessivel", r"accesible", r"accessible"],
            "es": [r"silla de ruedas", r"movilidad reducida", r"discapaci\w*", r"minusvali\w*", r"rampa", r"ascensor"],
            "en": [r"wheel ?chairs?", r"disab\w*", r"reduced mobility", r"ramp", r"elevator", r"lift", r"step free"],
            "pt": [r"cadeira de rodas", r"cadeirante", r"mobilidade reduzida", r"deficien\w*", r"rampa", r"elevador"],
        },
    ),
    (
        KnowledgeTopic.LUGGAGE,
        {
            "*": [r"consigna", r"luggage", r"baggage"],
            "es": [r"equipajes?", r"maletas?", r"valijas?", r"guardamaletas", r"mochilas?", r"bolsos?"],
            "en": [r"bags?", r"suitcases?", r"left luggage", r"backpacks?"],
            "pt": [r"bagage(m|ns)", r"mochilas?", r"guarda volumes"],
            "pt!": [r"malas?"],
        },
    ),
    (
        KnowledgeTopic.SMOKING,
        {
            "*": [r"smok\w*", r"vap(e|ear|er|ing)", r"cigarr\w*", r"tabaco"],
            "es": [r"fuma\w*", r"fume", r"pitillo", r"puchos?"],
            "en": [r"cigarettes?"],
            "pt": [r"fuma\w*", r"fumo", r"fumante\w*"],
        },
    ),
    (
        KnowledgeTopic.RESTAURANT,
        {
            "*": [r"restaurantes?", r"restaurant", r"bar", r"buffet"],
            "es": [r"cena\w*", r"cenar", r"almuerz\w*", r"almorzar", r"comida", r"comer", r"menu"],
            "es!": [r"carta"],
            "en": [r"dinner", r"lunch", r"dining", r"menu", r"food", r"eat"],
            "pt": [r"jantar", r"almoco", r"almocar", r"comida", r"comer", r"cardapio", r"refeic\w*"],
        },
    ),
    (
        KnowledgeTopic.CHILDREN_POLICY,
        {
            "*": [r"bebes?", r"baby"],
            "es": [r"nin(o|a|os|as)", r"nenes?", r"peques", r"menores", r"cunas?", r"cama supletoria", r"hijos?"],
            "en": [r"kids?", r"child(ren)?", r"infants?", r"toddlers?", r"cribs?", r"cots?", r"extra bed"],
            "pt": [r"crianca\w*", r"bebe\w*", r"bercos?", r"filhos?", r"menores", r"cama extra"],
        },
    ),
    (
        KnowledgeTopic.PAYMENT,
        {
            "*": [r"pix", r"visa", r"mastercard", r"amex", r"paypal", r"bizum", r"apple pay", r"google pay"],
            "es": [
                r"tarjetas?",
                r"efectivo",
                r"pago",
                r"pagar",
                r"pagos",
                r"forma de pago",
                r"debito",
                r"credito",
                r"transferencia",
                r"dolares",
                r"fianza",
                r"deposito",
            ],
            "en": [r"pay(s|ing|ment|ments)?", r"cards?", r"credit card", r"debit", r"cash", r"deposit", r"currency"],
            "pt": [r"cartao", r"cartoes", r"dinheiro", r"pag(ar|o|amento|amentos)", r"debito", r"credito", r"boleto"],
        },
    ),
    (
        KnowledgeTopic.CHECKIN_CHECKOUT,
        {
            "*": [r"check ?ins?", r"check ?outs?", r"checkin", r"checkout"],
            "es": [
                r"hora de (entrada|salida|llegada)",
                r"horario de (entrada|salida|llegada)",
                r"a que hora",
                r"(entrar|salir|dejar) (a|de) la habitacion",
                r"dejar la habitacion",
                r"desalojar",
                r"recepcion",
                r"lleg\w* (muy |re |bastante )?tarde",
                r"llegada tardia",
                r"medianoche",
                r"madrugada",
            ],
            "en": [
                r"what time",
                r"arrival time",
                r"leave the room",
                r"reception",
                r"front desk",
                r"arriv\w* (really |very |quite )?late",
                r"late arrival",
                r"after midnight",
                r"latest (time )?(i|we) can check",
            ],
            "pt": [
                r"que horas",
                r"horario de (entrada|saida)",
                r"sair do quarto",
                r"entrada no quarto",
                r"recepcao",
                r"cheg\w* (muito |bem )?tarde",
                r"chegada tard\w*",
                r"meia ?noite",
                r"madrugada",
            ],
        },
    ),
    (
        KnowledgeTopic.LOCATION_DISTANCES,
        {
            "*": [r"km", r"kilometros?", r"quilometros?", r"centro", r"playas?", r"praias?"],
            "es": [r"lejos", r"cerca", r"distancia", r"cuanto (se tarda|tardo|tiempo)", r"caminando", r"andando"],
            "en": [r"far", r"distance", r"close to", r"near\w*", r"how long", r"walk\w*", r"beach", r"downtown"],
            "pt": [r"longe", r"perto", r"distancia", r"quanto tempo", r"a pe", r"andando"],
        },
    ),
    # The airport without a distance cue ("how do I get from the airport?") is a transfer question.
    (KnowledgeTopic.SHUTTLE, {"*": [r"aeropuerto", r"airport", r"aeroporto"]}),
    (
        KnowledgeTopic.LOCATION_DIRECTIONS,
        {
            "*": [r"maps?", r"gps", r"ubicaci\w*", r"localiza\w*", r"location"],
            "es": [
                r"direccion",
                r"donde (estan|esta el hotel|quedan?|se encuentran?|se ubican?|estan ubicados)",
                r"como (llego|llegar|llegamos|voy)",
                r"ubicados",
                r"calle",
            ],
            "en": [r"address", r"where are you", r"where is the hotel", r"directions?", r"how (do|can) (i|we) get"],
            "pt": [r"endereco", r"onde (fica|ficam|estao|voces estao)", r"como (chego|chegar|chegamos)", r"rua"],
        },
    ),
]


_Matchers = list[tuple[str, re.Pattern[str]]]


def _compile(keys: Iterable[str]) -> _Matchers:
    keys = list(keys)
    compiled = []
    for topic, by_language in _RULES:
        patterns = [pattern for key in keys for pattern in by_language.get(key, [])]
        if patterns:
            compiled.append((str(topic), re.compile(r"\b(?:" + "|".join(patterns) + r")\b")))
    return compiled


# Per guest language: its own words first, then every language's except other languages' false friends.
_PASSES: dict[str | None, list[_Matchers]] = {
    language: [
        _compile(("*", language, f"{language}!")),
        _compile(("*", *LANGUAGES, f"{language}!")),
    ]
    for language in LANGUAGES
}
_PASSES[None] = [_compile(("*", *LANGUAGES, *(f"{language}!" for language in LANGUAGES)))]


# Where one question ends and the next begins: "¿A qué hora es el check-out y puedo dejar las maletas?".
_CLAUSES = re.compile(
    r"[?!.;¿¡\n]+|\s(?:y|e|and|also|plus|tambien|también|tambem|também|ademas|además|alem disso|além disso)\s",
    re.IGNORECASE,
)


_GENERIC_CUES = re.compile(
    r"\b(a que hora|what time|que horas|cerca|lejos|near\w*|far|close to|longe|perto|how long|cuanto tiempo|"
    r"quanto tempo|distancia|distance|recepcion|reception|front desk|recepcao)\b"
)


def topics_for_text(text: str, language: str | None, *, limit: int = 3) -> list[str]:
    """The topics of a message that asks about several things, one per question, in the guest's order (at most
    ``limit``). A message about one thing gives exactly ``[topic_for_text(text)]``: words that only make sense
    together ("desayuno en el restaurante") are read as a whole, as before."""
    found: list[str] = []
    for clause in _CLAUSES.split(text):
        # "¿El desayuno está incluido y a qué hora es?": a clause with only a generic cue is about the one before.
        if topic_for_text(_GENERIC_CUES.sub(" ", normalize(clause)), language) is None:
            continue
        topic = topic_for_text(clause, language)
        if topic is not None and topic not in found:
            found.append(topic)
    if len(found) < 2:
        whole = topic_for_text(text, language)
        return [whole] if whole else []
    return found[:limit]


def topic_for_text(text: str, language: str | None) -> str | None:
    """The knowledge topic a guest's hotel-info or location question is about, or ``None``.

    The words of ``language`` (and the shared ones) are tried first, then every language's: guests mix languages,
    but a word of another language only decides when nothing in the guest's own does, and never a false friend.
    Any other ``language`` (``None``, "fr") tries every word.
    """
    normalized = normalize(text)
    if not normalized:
        return None
    for matchers in _PASSES.get(language, _PASSES[None]):
        for topic, pattern in matchers:
            if pattern.search(normalized):
                return topic
    return None
