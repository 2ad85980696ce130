"""Hand-overs to staff: explicit requests, complaints, repeated misunderstandings, urgent messages."""

from __future__ import annotations

from django.utils.translation import gettext as _

from conversations.agent.knowledge import business_hours_text, within_business_hours
from conversations.agent.types import Reply, TurnContext


def _hours_note(ctx: TurnContext) -> str:
    if within_business_hours(ctx.tenant, ctx.now):
        return _("A receptionist will reply here shortly.")
    hours = business_hours_text(ctx.tenant)
    if hours:
        return _("Reception is open %(hours)s; they will reply here as soon as they are back.") % {"hours": hours}
    return _("A receptionist will reply here as soon as possible.")


def escalate(ctx: TurnContext, *, reason: str, lead: str) -> Reply:
    return Reply(text=f"{lead} {_hours_note(ctx)}", language=ctx.language, escalate_reason=reason)


def handle_human_handoff(ctx: TurnContext) -> Reply:
    return escalate(ctx, reason="human_handoff", lead=_("Of course, I'm passing your conversation to reception."))


def handle_complaint(ctx: TurnContext) -> Reply:
    return escalate(
        ctx,
        reason="complaint",
        lead=_("I'm very sorry about that. I've passed your message to our reception team as a priority."),
    )


def handle_repeated_fallback(ctx: TurnContext) -> Reply:
    return escalate(
        ctx,
        reason="repeated_fallback",
        lead=_("I'm sorry I couldn't understand you. I'm passing your conversation to a receptionist."),
    )


def _urgent_lead() -> str:
    return _(
        "I've alerted our staff about your urgent message. If there is any danger, please call the emergency "
        "number 112."
    )


def handle_urgent_after_hours(ctx: TurnContext) -> Reply:
    return escalate(ctx, reason="urgent_after_hours", lead=_urgent_lead())


def handle_urgent(ctx: TurnContext) -> Reply:
    """Inside reception hours: a fire, a flood, a leak, a theft or someone trapped is not left to the bot either."""
    return escalate(ctx, reason="urgent", lead=_urgent_lead())
