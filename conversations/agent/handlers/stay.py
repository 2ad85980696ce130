"""During the stay: late check-out, early check-in and in-room service requests."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from conversations.agent import knowledge, pms_access
from conversations.agent.handlers.common import fmt_money, fmt_time, yes_no_options
from conversations.agent.handlers.escalation import escalate
from conversations.agent.types import Reply, TurnContext
from pms.base import PMSError
from tenants.flags import flag_enabled


def _policy(ctx: TurnContext):
    try:
        return pms_access.adapter(ctx.tenant).stay_policy()
    except PMSError:
        return None


def _offer_stay_change(ctx: TurnContext, *, kind: str, text: str, fee: Any, currency: str) -> Reply:
    """The policy's offer (with its fee, if any) and the question whether to request it from reception."""
    if fee:
        text += " " + _("for %(fee)s") % {"fee": fmt_money(fee, currency, ctx.language)}
    text += ", " + _("subject to availability on the day. Shall I request it for you?")
    return Reply(text=text, language=ctx.language, options=yes_no_options(),
                 pending={"action": "confirm_stay_request", "kind": kind})  # fmt: skip


def handle_late_checkout(ctx: TurnContext) -> Reply:
    policy = _policy(ctx)
    if policy is None or policy.late_checkout_until is None:
        return escalate(
            ctx, reason="late_checkout_request", lead=_("I've passed your late check-out request to reception.")
        )
    text = _("Check-out is until %(normal)s. We can offer a late check-out until %(until)s") % {
        "normal": fmt_time(policy.check_out_time),
        "until": fmt_time(policy.late_checkout_until),
    }
    return _offer_stay_change(
        ctx, kind="late_checkout_request", text=text, fee=policy.late_checkout_fee, currency=policy.currency
    )


def handle_early_checkin(ctx: TurnContext) -> Reply:
    policy = _policy(ctx)
    if policy is None or policy.early_checkin_from is None:
        return escalate(
            ctx, reason="early_checkin_request", lead=_("I've passed your early check-in request to reception.")
        )
    text = _("Check-in is from %(normal)s. We can offer an early check-in from %(from)s") % {
        "normal": fmt_time(policy.check_in_time),
        "from": fmt_time(policy.early_checkin_from),
    }
    return _offer_stay_change(
        ctx, kind="early_checkin_request", text=text, fee=policy.early_checkin_fee, currency=policy.currency
    )


def confirm_stay_request(ctx: TurnContext, pending: dict[str, Any]) -> Reply:
    return escalate(
        ctx,
        reason=pending.get("kind", "stay_request"),
        lead=_("Perfect, I've sent your request to reception; they will confirm it."),
    )


def handle_service_request(ctx: TurnContext) -> Reply:
    if flag_enabled("service_requests.to_staff", tenant=ctx.tenant):
        return escalate(ctx, reason="service_request", lead=_("Right away! I've passed your request to our team."))
    profile = knowledge.profile(ctx.tenant)
    phone = getattr(profile, "phone", "") if profile else ""
    if phone:
        text = _(
            "For requests in your room, please call reception at %(phone)s and they'll take care of it right away. "
            "Or shall I pass your message to them?"
        ) % {"phone": phone}
    else:
        text = _("Shall I pass your request to reception so they can take care of it?")
    return Reply(text=text, language=ctx.language, options=yes_no_options(),
                 pending={"action": "offer_staff", "reason": "service_request"})  # fmt: skip


def offer_staff(ctx: TurnContext, pending: dict[str, Any]) -> Reply:
    return escalate(ctx, reason=pending.get("reason", "guest_request"), lead=_("Done, I've passed it to reception."))
