"""Word lists for the guest-name extractor (folded: lower case, no accents).

- ``STOP``: function words that end a name ("y", "and", "para", "quiero"...).
- ``PARTICLES``: kept inside a name before a capitalised word ("María de la Cruz", "Ludwig van Beethoven").
- ``NOT_NAMES``: words a weak cue may be followed by that are not names ("I'm Spanish", "soy nuevo").
- ``NEVER``: never part of a name whatever the cue: weekdays, months, hotel and room words, seasons and holidays,
  number words, greetings and sign-offs.
- ``PLACES``: cities and countries often written capitalised after "para/for/de" ("reserva para Madrid"); they
  cannot start a name nor follow a particle ("Ana de Madrid"), but may be a surname ("Ricardo Lima").
"""

from __future__ import annotations

from .lexicon import CARDINALS, MONTHS_FULL, WEEKDAYS


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PARTICLES = _words("de del la las los da das do dos van von der den ter di du le della dei bin ibn")
STOP = _words(
    """y and e para for pra con with com que i from desde quiero queria quisiera want would wanted need necesito
    gostaria preciso tengo have tenho estoy am is es sou soy of the el la los las o a os as un una um uma an aqui
    here there reservation reserva booking gracias thanks thank obrigado obrigada hola hello hi oi ola por favor
    please tambien also tambem mi my meu minha en in em no na at hasta to ok okay vale bueno good bien fine
    porque because pero but mas more muito very reservar book booked reserve llegar arrive chegar y/o it its
    you we us me they he she this that your our su sus seu sua nosso nossa on by"""
)
NOT_NAMES = _words(
    """spanish english american brazilian mexican argentinian argentine french german italian portuguese
    canadian british espanol espanola argentino argentina mexicano mexicana brasileiro brasileira brasileno
    brasilena new back interested looking sorry happy glad not so very just going traveling travelling staying
    arriving calling writing your guest client cliente huesped hospede el la yo eu from the a an senor senora
    mr mrs ms miss sr sra dr great amazing perfect fine good ok okay awesome excellent wonderful terrible bad ready
    available correct right wrong urgent important colombiano colombiana chileno chilena peruano peruana uruguayo
    uruguaya venezolano venezolana cubano cubana ingles inglesa frances francesa aleman alemana italiano italiana
    portugues portuguesa americano americana estadounidense canadiense paraguayo paraguaya boliviano boliviana
    ecuatoriano ecuatoriana colombian chilean peruvian venezuelan cuban dutch irish scottish australian chinese
    japanese misspelled misspelt spelled spelt incorrect different missing mine wrongly"""
)
_HOTEL = """suite suites suit doble dobles double single twin triple triplo individual sencilla simple familiar family
    familia junior superior deluxe delux standard estandar premium classic clasica classica executive ejecutiva
    room rooms habitacion habitaciones cuarto quarto quartos hotel hostal pousada apartamento apartment apto studio
    estudio king queen matrimonial casal solteiro duplo vista view sea ocean oceano playa praia beach pool
    piscina breakfast desayuno cafe parking garage wifi spa gym check checkin checkout late early reception
    recepcion recepcao booking reserva reservation confirmation confirmacion localizador"""
_TIME = """hoy today hoje tomorrow manana amanha tonight noche noches night nights noite noites dia dias day days
    semana semanas week weeks weekend finde fds navidad natal christmas easter pascua pascoa carnaval reveillon
    nochevieja nochebuena thanksgiving halloween ano year feriado holiday holidays vacaciones ferias vacation"""
_GREETINGS = """buenas buenos buen boa boas bom good morning afternoon evening tardes tarde noches kind best warm
    regards saludos saludo cordiales cordialmente atentamente atenciosamente abraco abracos abrazo abrazos besos
    beijos cheers sincerely yours many thanks muchas muchisimas gracias obrigado obrigada muito see soon later
    nos vemos ate luego pronto bye adios tchau chau ciao dear estimado estimada prezado prezada querido querida
    congratulations felicidades parabens merry happy feliz welcome bienvenido bienvenida"""
NEVER = (
    _words(_HOTEL + _TIME + _GREETINGS)
    | frozenset(WEEKDAYS)
    | frozenset({"terca-feira", "segunda-feira", "quarta-feira", "quinta-feira", "sexta-feira"})
    | frozenset(MONTHS_FULL)
    | frozenset(word for word in CARDINALS if " " not in word)
)
PLACES = _words(
    """madrid barcelona valencia sevilla seville malaga bilbao granada zaragoza alicante ibiza mallorca majorca
    tenerife canarias cadiz cordoba toledo salamanca santander donostia marbella benidorm lisboa lisbon porto
    oporto faro algarve coimbra braga madeira funchal sintra cascais paris london londres rome roma berlin
    amsterdam new york nueva nova miami orlando mexico cancun guadalajara monterrey bogota medellin cartagena
    lima cusco valparaiso buenos aires montevideo punta asuncion caracas quito havana habana sao rio
    janeiro brasilia florianopolis fortaleza recife curitiba natal gramado paraty buzios europe europa
    spain espana portugal brasil brazil france francia franca italy italia germany alemania alemanha england
    inglaterra usa eeuu argentina chile colombia peru uruguay"""
)
