"""What the demo hotel knows: "Hotel Demo Sol y Mar", a seaside hotel on La Malagueta beach in Málaga.

Invented but plausible facts, the same in every language (plus what only matters to one audience: Bizum, Pix,
nota fiscal). Loaded by ``tenants.knowledge.knowledge_seed_demo``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

DEMO_PROFILE: dict[str, Any] = {
    "address": "Paseo Marítimo Ciudad de Melilla, 21",
    "city": "Málaga",
    "postal_code": "29016",
    "country": "España",
    "latitude": Decimal("36.718900"),
    "longitude": Decimal("-4.407400"),
    "map_url": "https://maps.google.com/?q=36.7189,-4.4074",
    "phone": "+34 952 000 123",
    "email": "recepcion@solymar-demo.example",
    "website": "https://solymar-demo.example",
    "check_in_time": dt.time(15, 0),
    "check_out_time": dt.time(12, 0),
    "reception_24h": False,
    "reception_opens": dt.time(8, 0),
    "reception_closes": dt.time(23, 0),
    "currency": "EUR",
}

_MAP = DEMO_PROFILE["map_url"]

DEMO_ANSWERS: dict[str, dict[str, str]] = {
    "wifi": {
        "es": (
            "¡Claro! El wifi es gratuito en todo el hotel, también en la piscina de la azotea 📶\n"
            "Red: SolyMar_Guests\nContraseña: Malagueta2025\n"
            "Si algo no va bien, escríbenos y lo revisamos enseguida."
        ),
        "en": (
            "Of course! Wi-Fi is free throughout the hotel, rooftop pool included 📶\n"
            "Network: SolyMar_Guests\nPassword: Malagueta2025\n"
            "If anything doesn't work, just message us and we'll sort it out right away."
        ),
        "pt": (
            "Claro! O wi-fi é gratuito em todo o hotel, inclusive na piscina do terraço 📶\n"
            "Rede: SolyMar_Guests\nSenha: Malagueta2025\n"
            "Se algo não funcionar, é só nos escrever que resolvemos na hora."
        ),
    },
    "parking": {
        "es": (
            "Tenemos garaje propio subterráneo, con entrada por la calle lateral del hotel 🚗 Cuesta 18 € por día "
            "(24 h) y las plazas son limitadas, así que te recomendamos reservarla con antelación. Altura máxima "
            "1,90 m y dos puntos de carga para coches eléctricos."
        ),
        "en": (
            "We have our own underground garage, entered from the side street next to the hotel 🚗 It's €18 per "
            "day (24 h) and spaces are limited, so we recommend booking ahead. Maximum height 1.90 m, and there are "
            "two charging points for electric cars."
        ),
        "pt": (
            "Temos garagem subterrânea própria, com entrada pela rua lateral do hotel 🚗 Custa 18 € por dia (24 h) "
            "e as vagas são limitadas, por isso recomendamos reservar com antecedência. Altura máxima de 1,90 m e "
            "dois pontos de recarga para carros elétricos."
        ),
    },
    "breakfast": {
        "es": (
            "El desayuno buffet se sirve en el restaurante La Caracola, en la planta baja ☕ De lunes a viernes de "
            "7:30 a 10:30 y fines de semana y festivos de 8:00 a 11:00. Cuesta 16 € por adulto, 8 € niños de 4 a "
            "11 años y es gratis para menores de 4. Hay opciones sin gluten y veganas, y si sales temprano te "
            "preparamos una bolsa de desayuno desde las 6:00 (pídela la noche anterior)."
        ),
        "en": (
            "Our buffet breakfast is served at La Caracola restaurant on the ground floor ☕ Monday to Friday "
            "7:30–10:30, weekends and public holidays 8:00–11:00. It's €16 per adult, €8 for children aged 4–11 "
            "and free for under-4s. There are gluten-free and vegan options, and if you leave early we can prepare "
            "a breakfast bag from 6:00 (just ask the evening before)."
        ),
        "pt": (
            "O café da manhã em buffet é servido no restaurante La Caracola, no térreo ☕ De segunda a sexta das "
            "7h30 às 10h30; fins de semana e feriados das 8h às 11h. Custa 16 € por adulto, 8 € para crianças de 4 "
            "a 11 anos e é grátis para menores de 4. Há opções sem glúten e veganas, e se você sair cedo "
            "preparamos um kit de café da manhã a partir das 6h (é só pedir na noite anterior)."
        ),
    },
    "pool": {
        "es": (
            "Nuestra piscina está en la azotea, con vistas al mar 🏊 Abre del 1 de mayo al 15 de octubre, de 10:00 "
            "a 20:00. Las toallas de piscina te las damos en recepción. No hay socorrista, así que los menores de "
            "12 años deben estar siempre con un adulto."
        ),
        "en": (
            "Our pool is on the rooftop, with sea views 🏊 It's open from 1 May to 15 October, 10:00–20:00. Pool "
            "towels are available at reception. There's no lifeguard, so children under 12 must always be with an "
            "adult."
        ),
        "pt": (
            "Nossa piscina fica no terraço, com vista para o mar 🏊 Funciona de 1º de maio a 15 de outubro, das "
            "10h às 20h. As toalhas de piscina são entregues na recepção. Não há salva-vidas, então menores de 12 "
            "anos devem estar sempre com um adulto."
        ),
    },
    "gym": {
        "es": (
            "El gimnasio está en la primera planta y abre las 24 horas: entras con la llave de tu habitación 💪 "
            "Tiene máquinas de cardio, pesas libres y esterillas, y es gratuito para los huéspedes."
        ),
        "en": (
            "The gym is on the first floor and open 24 hours: your room key opens the door 💪 It has cardio "
            "machines, free weights and mats, and it's free for guests."
        ),
        "pt": (
            "A academia fica no primeiro andar e funciona 24 horas: a chave do seu quarto abre a porta 💪 Tem "
            "aparelhos de cardio, pesos livres e colchonetes, e é gratuita para os hóspedes."
        ),
    },
    "spa": {
        "es": (
            "Tenemos una pequeña zona de bienestar con jacuzzi, sauna y baño turco, abierta de 10:00 a 21:00 🧖 El "
            "circuito de 90 minutos cuesta 15 € por persona (gratis en suites) y es para mayores de 16 años. "
            "También hay masajes desde 45 €: resérvalos en recepción o por aquí."
        ),
        "en": (
            "We have a small wellness area with a jacuzzi, sauna and Turkish bath, open 10:00–21:00 🧖 The 90-minute "
            "circuit is €15 per person (free for suites), ages 16 and over. Massages start at €45: book them at "
            "reception or right here."
        ),
        "pt": (
            "Temos uma pequena área de bem-estar com jacuzzi, sauna e banho turco, aberta das 10h às 21h 🧖 O "
            "circuito de 90 minutos custa 15 € por pessoa (grátis nas suítes), para maiores de 16 anos. Também há "
            "massagens a partir de 45 €: reserve na recepção ou por aqui."
        ),
    },
    "pets": {
        "es": (
            "¡Sí, somos pet friendly! 🐾 Aceptamos perros y gatos de hasta 10 kg, uno por habitación, por 15 € la "
            "noche. Avísanos al reservar para preparar su kit de bienvenida (cama y comedero). Por higiene, no "
            "pueden entrar al restaurante, la piscina ni el spa. Los perros guía son siempre bienvenidos y gratis."
        ),
        "en": (
            "Yes, we're pet friendly! 🐾 We welcome dogs and cats up to 10 kg, one per room, for €15 per night. Let "
            "us know when you book so we can have their welcome kit ready (bed and bowl). For hygiene reasons they "
            "can't go into the restaurant, pool or spa. Guide dogs are always welcome, free of charge."
        ),
        "pt": (
            "Sim, somos pet friendly! 🐾 Aceitamos cães e gatos de até 10 kg, um por quarto, por 15 € a diária. "
            "Avise-nos na reserva para prepararmos o kit de boas-vindas (caminha e comedouro). Por higiene, eles não "
            "podem entrar no restaurante, na piscina nem no spa. Cães-guia são sempre bem-vindos e não pagam."
        ),
    },
    "checkin_checkout": {
        "es": (
            "El check-in es a partir de las 15:00 y el check-out hasta las 12:00 🕒 Si llegas antes, te guardamos "
            "el equipaje y, si la habitación está lista, entras sin coste. Salida tardía hasta las 14:00 por 20 €, "
            "según disponibilidad. La recepción abre de 8:00 a 23:00: si llegas más tarde, avísanos y el conserje "
            "de noche te dará la llave."
        ),
        "en": (
            "Check-in is from 15:00 and check-out is until 12:00 🕒 If you arrive early we'll store your luggage, "
            "and if your room is ready you can go straight in at no charge. Late check-out until 14:00 costs €20, "
            "subject to availability. Reception is open 8:00–23:00: if you're arriving later, let us know and the "
            "night porter will hand you your key."
        ),
        "pt": (
            "O check-in é a partir das 15h e o check-out até as 12h 🕒 Se chegar antes, guardamos sua bagagem e, se "
            "o quarto estiver pronto, você entra sem custo. Check-out tardio até as 14h por 20 €, conforme "
            "disponibilidade. A recepção funciona das 8h às 23h: se for chegar mais tarde, avise-nos e o porteiro "
            "noturno entrega sua chave."
        ),
    },
    "payment": {
        "es": (
            "Aceptamos Visa, Mastercard, American Express, tarjetas de débito, Bizum y efectivo en euros 💳 Al hacer "
            "el check-in pedimos una preautorización de 100 € en tarjeta para extras, que se libera a la salida. "
            "No aceptamos cheques."
        ),
        "en": (
            "We accept Visa, Mastercard, American Express, debit cards and cash in euros 💳 At check-in we take a "
            "€100 card pre-authorisation for extras, released when you check out. We don't accept cheques."
        ),
        "pt": (
            "Aceitamos Visa, Mastercard, American Express, cartões de débito e dinheiro em euros 💳 Infelizmente não "
            "aceitamos Pix nem cheques. No check-in fazemos uma pré-autorização de 100 € no cartão para extras, "
            "liberada no check-out."
        ),
    },
    "invoice": {
        "es": (
            "¡Por supuesto! Para la factura necesitamos el nombre o razón social, el NIF/CIF y la dirección fiscal "
            "🧾 Puedes dárnoslos en recepción o escribirnos a recepcion@solymar-demo.example, y te la enviamos por "
            "email en menos de 24 horas."
        ),
        "en": (
            "Of course! For the invoice we need the full name or company name, tax/VAT number and billing address "
            "🧾 You can give them at reception or email recepcion@solymar-demo.example, and we'll email the invoice "
            "within 24 hours."
        ),
        "pt": (
            "Claro! Para a fatura precisamos do nome ou razão social, do número fiscal e do endereço de cobrança 🧾 "
            "Emitimos fatura espanhola (não emitimos nota fiscal brasileira). Pode nos passar os dados na recepção "
            "ou pelo e-mail recepcion@solymar-demo.example, e enviamos a fatura em até 24 horas."
        ),
    },
    "shuttle": {
        "es": (
            "No tenemos lanzadera propia, pero te organizamos un traslado privado aeropuerto–hotel por 35 € el coche "
            "(hasta 4 personas) o 55 € la furgoneta (hasta 8) ✈️ Pídelo con 24 h de antelación y tu número de vuelo. "
            "Otras opciones: el autobús Línea A del aeropuerto hasta el Paseo del Parque (unos 4 €, y luego 10 "
            "minutos a pie) o un taxi, unos 25–30 € y 20 minutos."
        ),
        "en": (
            "We don't run our own shuttle, but we can arrange a private airport–hotel transfer for €35 per car (up "
            "to 4 people) or €55 per van (up to 8) ✈️ Book it 24 h ahead with your flight number. Other options: "
            "the airport bus Line A to Paseo del Parque (about €4, then a 10-minute walk) or a taxi, about €25–30 "
            "and 20 minutes."
        ),
        "pt": (
            "Não temos transfer próprio, mas organizamos um traslado privado aeroporto–hotel por 35 € o carro (até "
            "4 pessoas) ou 55 € a van (até 8) ✈️ Peça com 24 h de antecedência e o número do voo. Outras opções: o "
            "ônibus Linha A do aeroporto até o Paseo del Parque (cerca de 4 €, depois 10 minutos a pé) ou um táxi, "
            "uns 25–30 € e 20 minutos."
        ),
    },
    "accessibility": {
        "es": (
            "El hotel es accesible ♿ La entrada tiene rampa, hay ascensor a todas las plantas (también a la azotea) "
            "y contamos con 4 habitaciones adaptadas con ducha a ras de suelo y barras de apoyo. La piscina tiene "
            "grúa elevadora y hay aseo adaptado en la planta baja. Dinos qué necesitas y lo dejamos preparado."
        ),
        "en": (
            "The hotel is accessible ♿ There's a ramp at the entrance, lifts to every floor (rooftop included) and 4 "
            "adapted rooms with roll-in showers and grab bars. The pool has a hoist and there's an accessible toilet "
            "on the ground floor. Tell us what you need and we'll have it ready."
        ),
        "pt": (
            "O hotel é acessível ♿ A entrada tem rampa, há elevador para todos os andares (inclusive o terraço) e "
            "temos 4 quartos adaptados com chuveiro sem degrau e barras de apoio. A piscina tem elevador para "
            "cadeirantes e há banheiro adaptado no térreo. Conte-nos do que precisa e deixamos tudo pronto."
        ),
    },
    "luggage": {
        "es": (
            "¡Sin problema! Te guardamos el equipaje gratis en nuestra consigna antes del check-in y después del "
            "check-out, hasta las 23:00 de ese mismo día 🧳 Solo tienes que pasar por recepción."
        ),
        "en": (
            "No problem! We'll store your luggage for free in our luggage room before check-in and after check-out, "
            "until 23:00 the same day 🧳 Just stop by reception."
        ),
        "pt": (
            "Sem problema! Guardamos sua bagagem gratuitamente no nosso guarda-volumes antes do check-in e depois "
            "do check-out, até as 23h do mesmo dia 🧳 É só passar na recepção."
        ),
    },
    "smoking": {
        "es": (
            "Todo el hotel, habitaciones y balcones incluidos, es sin humo 🚭 Puedes fumar en la zona exterior "
            "habilitada de la terraza de la planta baja. Si se fuma en la habitación aplicamos un cargo de limpieza "
            "de 150 €."
        ),
        "en": (
            "The whole hotel, rooms and balconies included, is non-smoking 🚭 You're welcome to smoke in the "
            "designated outdoor area of the ground-floor terrace. Smoking in the room carries a €150 cleaning fee."
        ),
        "pt": (
            "Todo o hotel, incluindo quartos e varandas, é livre de fumo 🚭 É possível fumar na área externa "
            "reservada do terraço do térreo. Fumar no quarto gera uma taxa de limpeza de 150 €."
        ),
    },
    "restaurant": {
        "es": (
            "Nuestro restaurante La Caracola ofrece cocina mediterránea y malagueña: pescaíto frito, espetos de "
            "sardinas y arroces 🍽️ Almuerzos de 13:00 a 16:00 y cenas de 19:30 a 23:00; el bar de la terraza abre "
            "de 11:00 a 00:00. Para cenar te recomendamos reservar: ¿quieres que te guardemos mesa?"
        ),
        "en": (
            "Our restaurant, La Caracola, serves Mediterranean and Málaga cuisine: fried fish, sardine skewers "
            "(espetos) and rice dishes 🍽️ Lunch 13:00–16:00 and dinner 19:30–23:00; the terrace bar is open "
            "11:00–00:00. We recommend booking for dinner: shall we save you a table?"
        ),
        "pt": (
            "Nosso restaurante, La Caracola, serve cozinha mediterrânea e malaguenha: peixe frito, espetos de "
            "sardinha e arrozes 🍽️ Almoço das 13h às 16h e jantar das 19h30 às 23h; o bar do terraço abre das 11h à "
            "meia-noite. Para o jantar recomendamos reservar: quer que guardemos uma mesa?"
        ),
    },
    "location_directions": {
        "es": (
            f"Estamos en el Paseo Marítimo Ciudad de Melilla, 21, 29016 Málaga, frente a la playa de La Malagueta 📍 "
            f"Mapa: {_MAP}\nEn coche: por la A-7 o la MA-20 toma la salida Centro/Puerto y sigue el Paseo "
            "Marítimo; el garaje está en la calle lateral. Desde la estación María Zambrano son 10 minutos en taxi."
        ),
        "en": (
            f"We're at Paseo Marítimo Ciudad de Melilla, 21, 29016 Málaga, right on La Malagueta beach 📍 "
            f"Map: {_MAP}\nBy car: from the A-7 or MA-20 take the Centro/Puerto exit and follow the seafront "
            "promenade (Paseo Marítimo); the garage is on the side street. From María Zambrano station it's 10 "
            "minutes by taxi."
        ),
        "pt": (
            f"Estamos no Paseo Marítimo Ciudad de Melilla, 21, 29016 Málaga, em frente à praia de La Malagueta 📍 "
            f"Mapa: {_MAP}\nDe carro: pela A-7 ou MA-20, pegue a saída Centro/Puerto e siga pelo Paseo Marítimo; a "
            "garagem fica na rua lateral. Da estação María Zambrano são 10 minutos de táxi."
        ),
    },
    "location_distances": {
        "es": (
            "Estamos a un paso de todo 🌊 La playa de La Malagueta está justo enfrente (1 minuto andando). El centro "
            "histórico (calle Larios, la Catedral) está a 1,5 km, unos 15–20 minutos paseando por el puerto y el "
            "Muelle Uno; la Alcazaba y el Teatro Romano, a 12 minutos. El aeropuerto está a 11 km (20 minutos en "
            "coche) y la estación María Zambrano a 3,5 km (10 minutos en taxi)."
        ),
        "en": (
            "We're close to everything 🌊 La Malagueta beach is right across the road (a 1-minute walk). The old "
            "town (Calle Larios, the Cathedral) is 1.5 km away, a 15–20 minute stroll along the port and Muelle "
            "Uno; the Alcazaba and the Roman Theatre are 12 minutes on foot. The airport is 11 km away (20 minutes "
            "by car) and María Zambrano station 3.5 km (10 minutes by taxi)."
        ),
        "pt": (
            "Estamos pertinho de tudo 🌊 A praia de La Malagueta fica bem em frente (1 minuto a pé). O centro "
            "histórico (rua Larios, a Catedral) fica a 1,5 km, uns 15–20 minutos caminhando pelo porto e pelo "
            "Muelle Uno; a Alcazaba e o Teatro Romano, a 12 minutos a pé. O aeroporto fica a 11 km (20 minutos de "
            "carro) e a estação María Zambrano a 3,5 km (10 minutos de táxi)."
        ),
    },
    "cancellation_policy": {
        "es": (
            "Con la tarifa flexible puedes cancelar gratis hasta 48 horas antes de la llegada; después, o si no te "
            "presentas, se cobra la primera noche 📅 La tarifa no reembolsable no admite cambios ni devoluciones. "
            "Los reembolsos llegan a la tarjeta original en 5–10 días hábiles. Si me das tu localizador, te digo "
            "qué condiciones tiene tu reserva."
        ),
        "en": (
            "With the flexible rate you can cancel free of charge up to 48 hours before arrival; after that, or if "
            "you don't show up, the first night is charged 📅 The non-refundable rate can't be changed or refunded. "
            "Refunds reach the original card within 5–10 working days. Give me your booking reference and I'll "
            "check the conditions of your booking."
        ),
        "pt": (
            "Na tarifa flexível você pode cancelar grátis até 48 horas antes da chegada; depois disso, ou em caso "
            "de não comparecimento, cobramos a primeira diária 📅 A tarifa não reembolsável não permite alterações "
            "nem reembolso. Os reembolsos caem no cartão original em 5–10 dias úteis. Se me passar o código da "
            "reserva, confiro as condições da sua."
        ),
    },
    "children_policy": {
        "es": (
            "¡Los niños son bienvenidos! 👶 Los menores de 2 años se alojan gratis en cuna (pídela al reservar). De "
            "2 a 11 años, la cama supletoria cuesta 25 € por noche. Las habitaciones familiares admiten 2 adultos y "
            "2 niños. En el restaurante tenemos tronas y menú infantil."
        ),
        "en": (
            "Children are very welcome! 👶 Under-2s stay free in a cot (please request it when booking). For ages "
            "2–11 an extra bed is €25 per night. Family rooms sleep 2 adults and 2 children. The restaurant has high "
            "chairs and a kids' menu."
        ),
        "pt": (
            "Crianças são muito bem-vindas! 👶 Menores de 2 anos ficam grátis no berço (peça na reserva). De 2 a 11 "
            "anos, a cama extra custa 25 € por noite. Os quartos família acomodam 2 adultos e 2 crianças. No "
            "restaurante temos cadeirinhas e cardápio infantil."
        ),
    },
}
