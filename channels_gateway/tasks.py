from __future__ import annotations

from celery import shared_task

from channels_gateway.services import outbound_send


class RetrySend(Exception):
    pass


@shared_task(bind=True, acks_late=True, max_retries=None, name="channels_gateway.send_outbound")
def send_outbound(self, message_id: int) -> str:
    """Deliver one outbound message; transient failures come back here with backoff (the attempt budget is kept
    on the message row, so redeliveries cannot exceed it)."""
    outcome = outbound_send(message_id=message_id)
    if outcome.result == "retry":
        raise self.retry(exc=RetrySend(f"message {message_id}"), countdown=outcome.retry_in)
    return outcome.result
