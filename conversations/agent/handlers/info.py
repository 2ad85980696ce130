"""Hotel information and directions, answered from the hotel's own knowledge base."""

from __future__ import annotations

import dataclasses

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
    topics = knowledge.topics_for(ctx.text, ctx.language)  # "wifi password and is there a gym?": both
    if not topics:
        return Reply(
            text=_(
                "Happy to help! What would you like to know? For example: wifi, parking, breakfast or check-in times."
            ),
            language=ctx.language,
        )
    return _answers(ctx, topics)


def _answers(ctx: TurnContext, topics: list[str]) -> Reply:
    found = [_topic_answer(ctx, topic) for topic in topics]
    answers = [answer for answer in found if answer]
    if not answers:
        return _unknown(ctx)
    if len(answers) < len(found):  # what the hotel has, and the rest for reception
        unknown = _unknown(ctx)
        return dataclasses.replace(unknown, text="\n\n".join([*answers, unknown.text]))
    return Reply(text="\n\n".join(answers), language=ctx.language)


def _topic_answer(ctx: TurnContext, topic: str) -> str | None:
    text = knowledge.answer(ctx.tenant, topic=topic, language=ctx.language)
    if text is None and topic == "checkin_checkout":
        text = _checkin_times(ctx)
    if text is None and topic == "location_directions":
        profile = knowledge.profile(ctx.tenant)
        if profile is not None and profile.address:
            text = _("We are at %(address)s.") % {"address": profile.address}
            if profile.map_url:
                text += " " + _("Map: %(url)s") % {"url": profile.map_url}
    return text


LOCATION_TOPICS = ("location_directions", "location_distances")


def handle_location(ctx: TurnContext) -> Reply:
    topics = knowledge.topics_for(ctx.text, ctx.language)
    if len(topics) > 1:  # "is there parking? and how far is the beach?": every question, in order
        return _answers(ctx, topics)
    topic = topics[0] if topics and topics[0] in LOCATION_TOPICS else "location_directions"
    text = _topic_answer(ctx, topic)
    if text is None:
        return _unknown(ctx)
    return Reply(text=text, language=ctx.language)
