"""Hotel information and directions, answered from the hotel's own knowledge base."""

from __future__ import annotations

from django.utils.translation import gettext as _

from conversations.agent import knowledge
from conversations.agent.handlers.common import fmt_time
from conversations.agent.types import Reply, TurnContext

INFO_TOPICS_MENU = ("wifi", "parking", "breakfast", "checkin_checkout")


def _unknown(ctx: TurnContext) -> Reply:
    return Reply(
        text=_("I don't have that information at hand. I've passed your question to reception so they can answer it."),
        language=ctx.language,
        escalate_reason="info_unavailable",
    )


def _checkin_times(ctx: TurnContext) -> str | None:
    profile = knowledge.profile(ctx.tenant)
    if profile is None:
        return None
    return _("Check-in is from %(check_in)s and check-out is until %(check_out)s.") % {
        "check_in": fmt_time(profile.check_in_time),
        "check_out": fmt_time(profile.check_out_time),
    }


def handle_hotel_info(ctx: TurnContext) -> Reply:
    topic = knowledge.topic_for(ctx.text, ctx.language)
    if topic is None:
        return Reply(
            text=_(
                "Happy to help! What would you like to know? For example: wifi, parking, breakfast or check-in times."
            ),
            language=ctx.language,
        )
    text = knowledge.answer(ctx.tenant, topic=topic, language=ctx.language)
    if text is None and topic == "checkin_checkout":
        text = _checkin_times(ctx)
    if text is None:
        return _unknown(ctx)
    return Reply(text=text, language=ctx.language)


def handle_location(ctx: TurnContext) -> Reply:
    topic = knowledge.topic_for(ctx.text, ctx.language)
    if topic not in ("location_directions", "location_distances"):
        topic = "location_directions"
    text = knowledge.answer(ctx.tenant, topic=topic, language=ctx.language)
    profile = knowledge.profile(ctx.tenant)
    if text is None and profile is not None and profile.address:
        text = _("We are at %(address)s.") % {"address": profile.address}
        if profile.map_url:
            text += " " + _("Map: %(url)s") % {"url": profile.map_url}
    if text is None:
        return _unknown(ctx)
    return Reply(text=text, language=ctx.language)
