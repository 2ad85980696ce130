"""Greetings, goodbyes, thanks, yes/no without a pending question, and out-of-scope messages."""

from __future__ import annotations

from django.utils.translation import gettext as _

from conversations.agent.handlers.common import intent_option
from conversations.agent.types import Reply, TurnContext

MENU = ("check_availability", "hotel_info", "human_handoff")


def _first_name(ctx: TurnContext) -> str:
    name = ctx.conversation.guest.display_name.strip()
    return name.split(" ")[0] if name else ""


def handle_greeting(ctx: TurnContext) -> Reply:
    name = _first_name(ctx)
    hotel = ctx.tenant.name
    if name:
        text = _(
            "Hello %(name)s! Welcome to %(hotel)s. I can check availability and prices, make or change a booking, "
            "answer questions about the hotel, or put you through to reception. How can I help?"
        ) % {"name": name, "hotel": hotel}
    else:
        text = _(
            "Hello! Welcome to %(hotel)s. I can check availability and prices, make or change a booking, answer "
            "questions about the hotel, or put you through to reception. How can I help?"
        ) % {"hotel": hotel}
    return Reply(text=text, language=ctx.language, options=tuple(intent_option(i) for i in MENU))


def handle_goodbye(ctx: TurnContext) -> Reply:
    return Reply(text=_("Thank you for writing to %(hotel)s. Have a lovely day!") % {"hotel": ctx.tenant.name},
                 language=ctx.language)  # fmt: skip


def handle_thanks(ctx: TurnContext) -> Reply:
    return Reply(text=_("You're welcome! Is there anything else I can help you with?"), language=ctx.language)


def handle_affirm(ctx: TurnContext) -> Reply:
    return Reply(
        text=_("Great! What would you like to do?"),
        language=ctx.language,
        options=tuple(intent_option(i) for i in MENU),
    )


def handle_deny(ctx: TurnContext) -> Reply:
    return Reply(text=_("No problem. Is there anything else I can do for you?"), language=ctx.language)


def handle_out_of_scope(ctx: TurnContext) -> Reply:
    return Reply(
        text=_(
            "I'm the virtual receptionist of %(hotel)s, so I can only help with things about your stay: "
            "availability and prices, bookings, and information about the hotel. Anything else I can do for you?"
        )
        % {"hotel": ctx.tenant.name},
        language=ctx.language,
        options=tuple(intent_option(i) for i in MENU),
    )


def handle_non_text(ctx: TurnContext) -> Reply:
    return Reply(
        text=_("Thanks! For now I can only read text messages. Could you write your request?"),
        language=ctx.language,
    )
