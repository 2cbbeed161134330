"""How order-intake's request path wakes its background workers, in this process
(a signal) and in a worker process (PostgreSQL NOTIFY on this channel)."""

from __future__ import annotations

from dropship_common.runtime import ServiceRuntime
from dropship_common.workers import Backlog

WEBHOOK_CHANNEL = "dropship_order_intake_webhooks"


def webhook_backlog(runtime: ServiceRuntime) -> Backlog:
    """Whether the webhook processor has deliveries in hand: it reports it, the
    mailer of the same process gives way to it."""
    backlog: Backlog = runtime.state.setdefault("webhook_backlog", Backlog())
    return backlog
